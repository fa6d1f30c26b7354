/**
 * The Instagram app's credentials come from Secrets Manager. A secret an operator filled in
 * wrongly, or not yet, must fail with words that say so, and never quote the secret itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstagramClient } from '#platform/instagram';
import { forgetSecrets } from '#platform/secrets';
import {
  startSecretsManagerStandIn,
  type SecretsManagerStandIn,
} from '../../local/standins/secrets-manager';

let secrets: SecretsManagerStandIn;
beforeAll(async () => {
  secrets = await startSecretsManagerStandIn({
    'raw-secret': 'a1b2c3d4e5f6-the-raw-app-secret',
    'not-filled-in': JSON.stringify({ appId: '', appSecret: '' }),
    'filled-in': JSON.stringify({ appId: '990602627938098', appSecret: 'app-secret-value' }),
  });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
  forgetSecrets();
});
afterAll(async () => {
  await secrets.stop();
});

const clientReading = (appSecretId: string) =>
  createInstagramClient({
    graphUrl: 'http://127.0.0.1:9',
    apiUrl: 'http://127.0.0.1:9',
    authorizeUrl: 'http://127.0.0.1:9/oauth/authorize',
    redirectUri: 'https://app.example.com/instagram-accounts/reconnect',
    appSecretId,
  });

describe('the Instagram app credentials', () => {
  it('refuse a secret that is not JSON without quoting any of it', async () => {
    const failure = await clientReading('raw-secret')
      .appCredentials()
      .catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/must hold \{"appId"/);
    // Everything a logger would write of it: message, stack and every own property.
    const logged = JSON.stringify(failure, Object.getOwnPropertyNames(failure));
    expect(logged).not.toMatch(/a1b2c3|raw-app-secret/);
  });

  it('refuse the empty placeholder the stack creates, until an operator fills it in', async () => {
    await expect(clientReading('not-filled-in').appCredentials()).rejects.toThrow(/both filled in/);
  });

  it('are read from a secret that holds both', async () => {
    await expect(clientReading('filled-in').appCredentials()).resolves.toEqual({
      appId: '990602627938098',
      appSecret: 'app-secret-value',
    });
  });
});

/**
 * Everything the API's handlers need, locally: a fresh table on DynamoDB Local, the Secrets
 * Manager stand-in with the Instagram app and the unsubscribe key, the Instagram stand-in, and
 * the environment variables the CDK stack would set. EventBridge is the one mocked service.
 * Call before the first request of a file: handlers read their configuration when loaded.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { startSecretsManagerStandIn } from '../../local/standins/secrets-manager';
import { startInstagramStandIn, type InstagramStandIn } from '../../local/standins/instagram';
import type { EnvironmentFor } from '../../functions/environment/variables';
import type { RouteEntry } from '../../lib/routes';
import { createTestTable, type TestTable } from './table';
import { createTestApi, createTestIdentity, type TestIdentity } from './api-gateway';

export const app = { appId: '990602627938098', appSecret: 'test-app-secret-0123456789' };
export const unsubscribeSigningKey = 'test-unsubscribe-key-'.padEnd(64, 'k');
export const redirectUri = 'https://app.tokenwatch.test/instagram-accounts/reconnect';
export const appUrl = 'https://app.tokenwatch.test';
/** The Instagram app's second redirect URI: reconnect links come back to the API here. */
export const linkRedirectUri = 'https://api.tokenwatch.test/reconnect/callback';

export interface ApiEnvironment {
  table: TestTable;
  instagram: InstagramStandIn;
  identity: TestIdentity;
  api: ReturnType<typeof createTestApi>;
  eventBridge: AwsClientStub<EventBridgeClient>;
  stop(): Promise<void>;
}

export async function startApiEnvironment(): Promise<ApiEnvironment> {
  const table = await createTestTable('tokenwatch-api');
  const secrets = await startSecretsManagerStandIn({
    'tokenwatch/test/instagram-app': JSON.stringify(app),
    'tokenwatch/test/unsubscribe-key': unsubscribeSigningKey,
  });
  const instagram = await startInstagramStandIn({ app, acceptUnknownTokens: false });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    EVENT_BUS_NAME: 'tokenwatch-test',
    APP_URL: appUrl,
    API_URL: 'https://api.tokenwatch.test',
    INSTAGRAM_APP_SECRET_ID: 'tokenwatch/test/instagram-app',
    UNSUBSCRIBE_KEY_SECRET_ID: 'tokenwatch/test/unsubscribe-key',
    INSTAGRAM_GRAPH_URL: instagram.endpoint,
    INSTAGRAM_API_URL: instagram.endpoint,
    INSTAGRAM_AUTHORIZE_URL: instagram.authorizeUrl,
    INSTAGRAM_REDIRECT_URI: redirectUri,
    INSTAGRAM_LINK_REDIRECT_URI: linkRedirectUri,
  } satisfies EnvironmentFor<RouteEntry>);
  const eventBridge = mockClient(EventBridgeClient);
  eventBridge
    .on(PutEventsCommand)
    .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  const identity = await createTestIdentity();
  return {
    table,
    instagram,
    identity,
    api: createTestApi(identity),
    eventBridge,
    async stop() {
      eventBridge.restore();
      await Promise.all([instagram.stop(), secrets.stop(), table.drop()]);
    },
  };
}

/**
 * Everything written to stdout and stderr from now on (Powertools writes logs there), for
 * checking that no secret ever reaches a log line. Call in beforeEach: spies are restored
 * after each test.
 */
export function captureOutput(into: string[]): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    const record = (chunk: unknown, ...rest: unknown[]): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
    vi.spyOn(stream, 'write').mockImplementation(record);
  }
}

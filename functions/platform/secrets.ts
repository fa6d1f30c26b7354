/**
 * Reads Secrets Manager secrets once per cold start and keeps them: the Instagram app
 * credentials and the unsubscribe signing key change rarely, and a read on every request
 * would cost latency and money. The endpoint comes from AWS_ENDPOINT_URL_SECRETS_MANAGER
 * locally and in tests, like every other client.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

export function readSecret(secretId: string): Promise<string> {
  let value = cache.get(secretId);
  if (!value) {
    client ??= new SecretsManagerClient({});
    value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((result) => {
      if (result.SecretString === undefined || result.SecretString === '') {
        throw new Error(`Secret ${secretId} holds no value yet`);
      }
      return result.SecretString;
    });
    // A failed read is not cached: the next request tries again.
    value.catch(() => cache.delete(secretId));
    cache.set(secretId, value);
  }
  return value;
}

/** For tests that change a secret between cases. */
export function forgetSecrets(): void {
  cache.clear();
}

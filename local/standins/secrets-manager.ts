/**
 * A local Secrets Manager that answers GetSecretValue in the service's own JSON 1.1 wire
 * format, so the handlers' real SDK client works against it in tests and in `npm start`.
 */
import { awsError, startAwsJsonStandIn } from './aws-json';

export interface SecretsManagerStandIn {
  endpoint: string;
  secrets: Map<string, string>;
  stop(): Promise<void>;
}

export async function startSecretsManagerStandIn(
  initial: Record<string, string>,
  port = 0,
): Promise<SecretsManagerStandIn> {
  const secrets = new Map(Object.entries(initial));
  const standIn = await startAwsJsonStandIn({
    port,
    operations: {
      'secretsmanager.GetSecretValue': (input) => {
        const secretId = typeof input.SecretId === 'string' ? input.SecretId : undefined;
        const value = secretId === undefined ? undefined : secrets.get(secretId);
        if (secretId === undefined || value === undefined) {
          return awsError(
            400,
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret.",
          );
        }
        return {
          status: 200,
          body: {
            ARN: `arn:aws:secretsmanager:local:000000000000:secret:${secretId}`,
            Name: secretId,
            SecretString: value,
            VersionId: '00000000-0000-0000-0000-000000000000',
            VersionStages: ['AWSCURRENT'],
            CreatedDate: 1_700_000_000,
          },
        };
      },
    },
  });
  return { endpoint: standIn.endpoint, secrets, stop: () => standIn.stop() };
}

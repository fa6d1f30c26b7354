/**
 * A local Secrets Manager that answers GetSecretValue in the service's own JSON 1.1 wire
 * format, so the handlers' real SDK client works against it in tests and in `npm start`.
 */
import { createServer, type Server } from 'node:http';

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
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const reply = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      const target = request.headers['x-amz-target'];
      if (target !== 'secretsmanager.GetSecretValue') {
        reply(400, { __type: 'InvalidRequestException', Message: `Unsupported ${String(target)}` });
        return;
      }
      let secretId: string | undefined;
      try {
        secretId = (JSON.parse(body) as { SecretId?: string }).SecretId;
      } catch {
        reply(400, { __type: 'InvalidRequestException', Message: 'Malformed JSON' });
        return;
      }
      const value = secretId === undefined ? undefined : secrets.get(secretId);
      if (secretId === undefined || value === undefined) {
        reply(400, {
          __type: 'ResourceNotFoundException',
          Message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:local:000000000000:secret:${secretId}`,
        Name: secretId,
        SecretString: value,
        VersionId: '00000000-0000-0000-0000-000000000000',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('stand-in has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    secrets,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * What every local stand-in for an AWS JSON 1.1 service shares: one POST endpoint, the
 * operation named by `X-Amz-Target`, JSON in and out, errors as `{"__type", "message"}`, which
 * the SDK turns into the service's own exception classes.
 */
import { createServer, type Server } from 'node:http';

export interface AwsJsonAnswer {
  status: number;
  body: unknown;
}

export type AwsJsonOperation = (input: Record<string, unknown>) => AwsJsonAnswer;

export interface AwsJsonStandIn {
  endpoint: string;
  stop(): Promise<void>;
}

export const awsError = (status: number, type: string, message: string): AwsJsonAnswer => ({
  status,
  body: { __type: type, message, Message: message },
});

export async function startAwsJsonStandIn(options: {
  /** Keyed by the full target, e.g. `AWSEvents.PutEvents`. */
  operations: Readonly<Record<string, AwsJsonOperation>>;
  port?: number;
}): Promise<AwsJsonStandIn> {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target']);
      const operation = options.operations[target];
      let answer: AwsJsonAnswer;
      if (!operation) {
        answer = awsError(400, 'UnknownOperationException', `${target} is not served locally.`);
      } else {
        let input: unknown;
        try {
          input = JSON.parse(body || '{}');
        } catch {
          input = undefined;
        }
        answer =
          input !== null && typeof input === 'object' && !Array.isArray(input)
            ? operation(input as Record<string, unknown>)
            : awsError(400, 'SerializationException', 'Malformed request body.');
      }
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('stand-in has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

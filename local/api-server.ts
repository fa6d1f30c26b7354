/**
 * The local HTTP API: a plain Node HTTP server in front of the local API Gateway
 * (`./api-gateway.ts`), which serves the same route table and handler modules the CDK stack
 * deploys. Requests the `extra` handler takes (the `/_local/*` endpoints, the settings page)
 * never reach the gateway.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createLocalApiGateway, type LocalApiGatewayOptions } from './api-gateway';

export type ExtraHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  body: string,
) => Promise<boolean>;

export interface LocalApiOptions {
  gateway: LocalApiGatewayOptions;
  /** Tried first: the `/_local/*` endpoints and the settings page. */
  extra?: ExtraHandler;
  port: number;
  host?: string;
  onError?: (error: unknown) => void;
}

/** API Gateway's own request limit; the handlers enforce their much smaller one. */
const maxPayloadBytes = 10 * 1024 * 1024;

const plain = (response: ServerResponse, status: number, message: string) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ message }));
};

/** A request refused before routing, in the shape of every other refusal of the API. */
const badRequest = (response: ServerResponse, detail: string) => {
  response.writeHead(400, { 'content-type': 'application/problem+json' });
  response.end(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, detail }));
};

/**
 * The request's URL, or undefined when its Host header (`exa mple`, `[::1`) or its target is no
 * URL: a client error (RFC 9112 §3.2 asks for a 400), which used to escape as a 500.
 */
function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
  } catch {
    return undefined;
  }
}

export async function startLocalApi(options: LocalApiOptions): Promise<Server> {
  const gateway = createLocalApiGateway(options.gateway);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxPayloadBytes) {
        plain(response, 413, 'Request Entity Too Large');
        return;
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const url = requestUrl(request);
    if (url === undefined) {
      badRequest(response, 'The Host header or the request target is not valid.');
      return;
    }
    if (options.extra && (await options.extra(request, response, url, body.toString('utf8')))) {
      return;
    }
    const answer = await gateway.invoke({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      body: body.length > 0 ? body : undefined,
      sourceIp: request.socket.remoteAddress,
    });
    if (answer.cookies?.length) response.setHeader('set-cookie', answer.cookies);
    response.writeHead(answer.statusCode, answer.headers);
    response.end(answer.body);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) plain(response, 500, 'Internal Server Error');
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

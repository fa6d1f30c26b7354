/**
 * Serves the HTTP API locally from the same route table and handler modules the CDK stack
 * deploys, translating each request into an API Gateway HTTP API (payload 2.0) event and the
 * handler's result back, as API Gateway would. Routes with `auth: 'jwt'` pass through the
 * same checks as the HTTP API's JWT authorizer first.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyResultV2,
  Context,
} from 'aws-lambda';
import type { RouteDefinition } from '../lib/routes';
import { lambdaContext } from './queue';

export type RouteHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** What the JWT authorizer decided: the token's claims, or API Gateway's own 401. */
export type AuthorizerDecision =
  { authorized: true; claims: Record<string, string> } | { authorized: false };

export interface LocalRoute {
  definition: RouteDefinition;
  handler: RouteHandler;
}

export type ExtraHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  body: string,
) => Promise<boolean>;

export interface LocalApiOptions {
  routes: readonly LocalRoute[];
  authorize: (authorizationHeader: string | undefined) => Promise<AuthorizerDecision>;
  /** Tried first: the `/_local/*` endpoints and the settings page. */
  extra?: ExtraHandler;
  port: number;
  host?: string;
  onError?: (error: unknown) => void;
}

/** API Gateway's own request limit; the handlers enforce their much smaller one. */
const maxPayloadBytes = 10 * 1024 * 1024;

function compile(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const parameter = /^\{(\w+)\}$/.exec(segment);
      if (!parameter?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(parameter[1]);
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), names };
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
) {
  response.writeHead(status, headers);
  response.end(body);
}

export function toEvent(
  request: IncomingMessage,
  url: URL,
  body: string,
  route: RouteDefinition,
  pathParameters: Record<string, string>,
  claims: Record<string, string>,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = name in query ? `${query[name] ?? ''},${value}` : value;
  }
  const now = new Date();
  const routeKey = `${route.method} ${route.path}`;
  const cookies = request.headers.cookie?.split(/;\s*/).filter(Boolean);
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims,
          scopes: [],
        },
      },
      domainName: url.host,
      domainPrefix: url.hostname.split('.')[0] ?? 'localhost',
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body } : {}),
    isBase64Encoded: false,
  };
}

/** Writes a handler's result the way API Gateway does for payload format 2.0. */
export function writeResult(response: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string' || !('statusCode' in result)) {
    // A bare value means 200 with the value as JSON.
    send(
      response,
      200,
      { 'content-type': 'application/json' },
      typeof result === 'string' ? result : JSON.stringify(result),
    );
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) response.setHeader('set-cookie', result.cookies);
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? '', 'base64')
    : (result.body ?? '');
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

export async function startLocalApi(options: LocalApiOptions): Promise<Server> {
  const compiled = options.routes.map((route) => ({ route, ...compile(route.definition.path) }));

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxPayloadBytes) {
        send(
          response,
          413,
          { 'content-type': 'application/json' },
          '{"message":"Request Entity Too Large"}',
        );
        return;
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks).toString('utf8');

    if (options.extra && (await options.extra(request, response, url, body))) return;

    const matching = compiled
      .map((candidate) => ({ candidate, match: candidate.pattern.exec(url.pathname) }))
      .filter((found) => found.match !== null);
    const found = matching.find((m) => m.candidate.route.definition.method === request.method);
    if (!found?.match) {
      // API Gateway answers an unknown route or method with its own 404 body.
      send(response, 404, { 'content-type': 'application/json' }, '{"message":"Not Found"}');
      return;
    }
    const { route, names } = found.candidate;
    const pathParameters = Object.fromEntries(
      names.map((name, index) => [name, decodeURIComponent(found.match?.[index + 1] ?? '')]),
    );

    let claims: Record<string, string> = {};
    if (route.definition.auth === 'jwt') {
      const decision = await options.authorize(request.headers.authorization);
      if (!decision.authorized) {
        send(
          response,
          401,
          { 'content-type': 'application/json', 'www-authenticate': 'Bearer' },
          '{"message":"Unauthorized"}',
        );
        return;
      }
      claims = decision.claims;
    }

    const event = toEvent(request, url, body, route.definition, pathParameters, claims);
    const result = await route.handler(event, lambdaContext(route.definition.entry, 10_000));
    writeResult(response, result);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError?.(error);
      // What API Gateway answers when the integration itself fails.
      if (!response.headersSent) {
        send(
          response,
          500,
          { 'content-type': 'application/json' },
          '{"message":"Internal Server Error"}',
        );
      } else response.end();
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

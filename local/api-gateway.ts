/**
 * API Gateway (HTTP API, payload 2.0) in a function, for the local stack and the tests: it
 * matches a request against the route table, runs the JWT authorizer on `auth: 'jwt'` routes
 * (and the service authorizer, then the route's scopes, on `auth: 'service'` routes),
 * builds the event a Lambda would receive, invokes the handler and turns its result into an
 * HTTP response. Never bundled into a Lambda: no handler imports it.
 *
 * Where API Gateway answers by itself (no route, a refused JWT, a failed function), it answers
 * with its own plain JSON (`{"message":"Unauthorized"}`): HTTP APIs cannot customise those, so
 * the frontend meets the same bodies here as in AWS.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { RouteDefinition } from '../lib/routes';
import {
  authorizeJwt,
  claimsAsApiGatewayPassesThem,
  type JwtAuthorizerOptions,
} from './jwt-authorizer';
import { invoke } from './lambda-context';

/** The scopes a token grants: `scope` (space-separated) or `scp` (a list or a string). */
function scopesOf(claims: Record<string, unknown>): string[] {
  const value = claims.scope ?? claims.scp;
  const text = Array.isArray(value)
    ? value.map(String).join(' ')
    : typeof value === 'string'
      ? value
      : '';
  return text.split(/\s+/).filter((scope) => scope !== '');
}

export interface GatewayRequest {
  method: string;
  /** The path with its query string, e.g. `/unsubscribe?token=abc`. */
  url: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string | Buffer;
  sourceIp?: string;
}

export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  cookies?: string[];
}

type Handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => unknown;

export interface LocalApiGatewayOptions {
  routes: readonly RouteDefinition[];
  /** Loads a route's handler module, e.g. `(entry) => import(\`../functions/${entry}.ts\`)`. */
  loadHandler: (entry: string) => Promise<{ handler: Handler }>;
  jwt: JwtAuthorizerOptions;
  /** The service routes' authorizer (its audience is the service client). @default `jwt` */
  serviceJwt?: JwtAuthorizerOptions;
  /** @default 'localhost' */
  domainName?: string;
  /** @default 10 000 ms, the functions' timeout in the stack */
  timeoutMs?: number;
  /** @default the real clock */
  now?: () => Date;
}

export interface RouteMatch {
  route: RouteDefinition;
  pathParameters?: Record<string, string>;
}

/** The route a method and path select, as API Gateway matches them; undefined for none. */
export function matchRoute(
  routes: readonly RouteDefinition[],
  method: string,
  path: string,
): RouteMatch | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const parameters: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const segment = segments[i] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      if (segment === '') return false;
      try {
        parameters[name] = decodeURIComponent(segment);
      } catch {
        return false;
      }
      return true;
    });
    if (matches) {
      return {
        route,
        pathParameters: Object.keys(parameters).length > 0 ? parameters : undefined,
      };
    }
  }
  return undefined;
}

const textLike = /^(text\/|application\/([\w.+-]+\+)?(json|xml|javascript))/i;

function headerMap(headers: GatewayRequest['headers'] = {}): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(',') : value;
    const key = name.toLowerCase();
    map[key] = map[key] === undefined ? joined : `${map[key]},${joined}`;
  }
  return map;
}

/** `dd/MMM/yyyy:HH:mm:ss +0000`, the form of `requestContext.time`. */
function apiGatewayTime(date: Date): string {
  const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()] ?? ''}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export function toApiGatewayEvent(
  match: RouteMatch,
  request: GatewayRequest,
  options: { claims?: Record<string, string>; domainName: string; now: Date },
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const url = new URL(request.url, `https://${options.domainName}`);
  const headers = headerMap(request.headers);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    // API Gateway joins repeated parameters with commas.
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const raw =
    request.body === undefined
      ? undefined
      : Buffer.isBuffer(request.body)
        ? request.body
        : Buffer.from(request.body, 'utf8');
  const isBase64Encoded = raw !== undefined && !textLike.test(headers['content-type'] ?? '');
  const routeKey = `${match.route.method} ${match.route.path}`;
  const requestContext = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: options.domainName,
    domainPrefix: options.domainName.split('.')[0] ?? options.domainName,
    http: {
      method: match.route.method,
      path: url.pathname,
      protocol: 'HTTP/1.1',
      sourceIp: request.sourceIp ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: randomUUID(),
    routeKey,
    stage: '$default',
    time: apiGatewayTime(options.now),
    timeEpoch: options.now.getTime(),
    ...(options.claims
      ? {
          authorizer: {
            principalId: '',
            integrationLatency: 0,
            jwt: { claims: options.claims, scopes: [] },
          },
        }
      : {}),
  };
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    cookies: headers.cookie?.split(/;\s*/),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: match.pathParameters,
    requestContext: requestContext as APIGatewayProxyEventV2WithJWTAuthorizer['requestContext'],
    body:
      raw === undefined
        ? undefined
        : isBase64Encoded
          ? raw.toString('base64')
          : raw.toString('utf8'),
    isBase64Encoded,
  };
}

/** A handler's payload 2.0 result, as API Gateway turns it into a response. */
function toResponse(result: unknown): GatewayResponse {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const structured = result as {
      statusCode: number;
      headers?: Record<string, string | number | boolean>;
      body?: string;
      isBase64Encoded?: boolean;
      cookies?: string[];
    };
    const headers = Object.fromEntries(
      Object.entries(structured.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    const body = structured.isBase64Encoded
      ? Buffer.from(structured.body ?? '', 'base64').toString('utf8')
      : (structured.body ?? '');
    return { statusCode: structured.statusCode, headers, body, cookies: structured.cookies };
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: typeof result === 'string' ? result : JSON.stringify(result),
  };
}

const gatewayAnswer = (statusCode: number, message: string): GatewayResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message }),
});

export function createLocalApiGateway(options: LocalApiGatewayOptions) {
  const domainName = options.domainName ?? 'localhost';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? (() => new Date());

  return {
    async invoke(request: GatewayRequest): Promise<GatewayResponse> {
      const path = new URL(request.url, `https://${domainName}`).pathname;
      const match = matchRoute(options.routes, request.method, path);
      if (!match) return gatewayAnswer(404, 'Not Found');

      let claims: Record<string, string> | undefined;
      if (match.route.auth !== 'none') {
        const authorizer =
          match.route.auth === 'service' ? (options.serviceJwt ?? options.jwt) : options.jwt;
        const authorization = headerMap(request.headers).authorization;
        const result = await authorizeJwt(authorization, { ...authorizer, now });
        if (!result.authorized) {
          const refused = gatewayAnswer(401, 'Unauthorized');
          return { ...refused, headers: { ...refused.headers, ...result.headers } };
        }
        // As API Gateway: a route with scopes needs a token with at least one of them, in its
        // `scope` (or `scp`) claim; a valid token without one gets 403 {"message":"Forbidden"}.
        const required = match.route.scopes ?? [];
        if (
          required.length > 0 &&
          !required.some((scope) => scopesOf(result.claims).includes(scope))
        )
          return gatewayAnswer(403, 'Forbidden');
        claims = claimsAsApiGatewayPassesThem(result.claims);
      }

      const event = toApiGatewayEvent(match, request, { claims, domainName, now: now() });
      const { handler } = await options.loadHandler(match.route.entry);
      try {
        return toResponse(
          await invoke(match.route.entry, timeoutMs, (context) => handler(event, context)),
        );
      } catch {
        // What API Gateway answers when the function itself fails.
        return gatewayAnswer(500, 'Internal Server Error');
      }
    },
  };
}

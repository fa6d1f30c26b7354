/**
 * The one way a route handler is built: `httpHandler(spec, fn)` (from api/handler.ts) composes the shared middy
 * chain around a function that receives a validated request and returns a result. Handlers
 * never parse, validate or build an error response themselves.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import type { z } from '#platform/validation';
import { logger } from '#platform/observability';
import {
  bodySizeLimit,
  formBody,
  jsonBody,
  maxBodyBytes,
  noBody,
  problemErrorHandler,
  validateRequest,
  type ProblemMapper,
  type ValidatedEvent,
} from './middleware';
import { HttpProblem, problemTypes, unauthorized } from './problem';
import type { HttpResult } from './responses';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<HttpResult>;

/**
 * Who may call a route: `jwt`, a signed-in user (the caller is their `sub`); `service`, a
 * client whose token carries the product's service scope (the caller is the client's `sub`);
 * `none`, anyone (the route authorizes by other means).
 */
export type RouteAuth = 'jwt' | 'service' | 'none';

export interface HandlerSpec<
  Auth extends RouteAuth,
  Body extends z.ZodMiniType | undefined,
  Path extends z.ZodMiniType | undefined,
  Query extends z.ZodMiniType | undefined,
> {
  auth: Auth;
  body?: Body;
  /** How the body is sent: JSON (the default), or a form (Meta's callbacks). */
  bodyFormat?: 'json' | 'form';
  path?: Path;
  query?: Query;
  /** Answer errors as a small HTML page when a browser asks for HTML (the unsubscribe pages). */
  htmlForBrowsers?: boolean;
  /**
   * Accept and ignore a body on a route without a body schema: only for RFC 8058 one-click
   * unsubscribe, whose mail clients POST `List-Unsubscribe=One-Click` as a form.
   */
  ignoresBody?: boolean;
}

type Parsed<S> = S extends z.ZodMiniType ? z.infer<S> : undefined;

export interface ApiRequest<Auth, Body, Path, Query> {
  /** The JWT's `sub`: who is asking. Only on routes behind the JWT authorizer. */
  caller: Auth extends 'none' ? undefined : string;
  body: Parsed<Body>;
  path: Parsed<Path>;
  query: Parsed<Query>;
  headers: Record<string, string | undefined>;
  event: ApiEvent;
}

/**
 * A valid token that names no caller of this route. Not a 401: that answer is API Gateway's, in
 * its own shape, and a new token for the same subject would not help.
 */
const forbidden = (detail: string) =>
  new HttpProblem({ type: problemTypes.blank, status: 403, detail });

/** The claims API Gateway's JWT authorizer (or the local stack's) put on the event. */
export type Claims = Record<string, unknown>;

function claimsOf(event: ApiEvent): Claims | undefined {
  // Typed as always there, but absent when a route is (wrongly) deployed without the authorizer.
  const context = event.requestContext as { authorizer?: { jwt?: { claims?: Claims } } };
  return context.authorizer?.jwt?.claims;
}

/**
 * The scopes a token grants, from its `scope` claim (RFC 8693: space-separated) or `scp`. API
 * Gateway hands an array claim to a Lambda as `[a b]`, so the brackets are dropped too.
 */
export function scopesOf(claims: Claims | undefined): string[] {
  const value = claims?.scope ?? claims?.scp;
  const text = Array.isArray(value)
    ? value.map(String).join(' ')
    : typeof value === 'string'
      ? value
      : '';
  return text
    .replace(/^\[|\]$/g, '')
    .split(/\s+/)
    .filter((scope) => scope !== '');
}

/**
 * What a product answers about a token on a user route: `true` for one of its users, or why the
 * token names none (the 403's detail).
 */
export type CallerCheck = (sub: string, claims: Claims) => true | string;

/**
 * The caller, from the claims API Gateway's JWT authorizer (or the local stack's) put on the
 * event. A missing `sub` can only mean a misconfigured route, and is refused rather than guessed.
 *
 * A `sub` that cannot be one of the product's callers (`isCaller`) is refused here, before any
 * handler keys the table with it: DynamoDB refuses a key over its size (`DEVELOPER#<sub>` past
 * 1,024 bytes, `USER#<sub>` past 2,048) with an error that became a 500. tokenwatch's callers
 * are user ids (api/handler.ts): 128 characters, at most 384 bytes in UTF-8, which every key
 * they go into has room for.
 */
export function callerOf(event: ApiEvent, isCaller: CallerCheck = () => true): string {
  const claims = claimsOf(event);
  const sub = claims?.sub;
  if (!claims || typeof sub !== 'string' || sub === '')
    throw unauthorized('A signed-in user is required.');
  const verdict = isCaller(sub, claims);
  if (verdict !== true) throw forbidden(verdict);
  return sub;
}

/**
 * The client calling a route that requires `scope`: its `sub`. API Gateway checks the scope on
 * the route already (and answers 403 itself); this is the same rule once more, in the code, so a
 * route deployed without its scopes still refuses.
 */
export function clientOf(event: ApiEvent, scope: string): string {
  const claims = claimsOf(event);
  const sub = claims?.sub;
  if (!claims || typeof sub !== 'string' || sub === '')
    throw unauthorized('A client token is required.');
  if (!scopesOf(claims).includes(scope))
    throw forbidden(`This route needs a token with the scope ${scope}.`);
  return sub;
}

/**
 * The route-handler builder of a product, whose own failures `problemFor` turns into problems
 * (api/handler.ts makes tokenwatch's).
 */
export function defineHttpHandler(
  product: {
    /** the product's own failures, as problems */
    problemFor?: ProblemMapper;
    /** whether a token on a user route names one of the product's users at all */
    isCaller?: CallerCheck;
    /** the scope a token needs on `auth: 'service'` routes */
    serviceScope?: string;
  } = {},
) {
  const { problemFor, isCaller, serviceScope } = product;
  return function httpHandler<
    Auth extends RouteAuth,
    Body extends z.ZodMiniType | undefined = undefined,
    Path extends z.ZodMiniType | undefined = undefined,
    Query extends z.ZodMiniType | undefined = undefined,
  >(
    spec: HandlerSpec<Auth, Body, Path, Query>,
    fn: (request: ApiRequest<Auth, Body, Path, Query>) => Promise<HttpResult>,
  ): ApiHandler {
    const chain = middy<ApiEvent, HttpResult>()
      .use(problemErrorHandler({ htmlForBrowsers: spec.htmlForBrowsers ?? false, problemFor }))
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(httpHeaderNormalizer());
    if (spec.auth === 'service' && serviceScope === undefined)
      throw new Error('A service route needs the product to name its serviceScope');
    const callerOfEvent = (event: ApiEvent): string | undefined =>
      spec.auth === 'jwt'
        ? callerOf(event, isCaller)
        : spec.auth === 'service'
          ? clientOf(event, serviceScope ?? '')
          : undefined;
    // Who is asking is settled before what they sent: an anonymous caller learns nothing more.
    chain.before((request) => void callerOfEvent(request.event));
    chain.use(bodySizeLimit(maxBodyBytes));
    if (spec.body) chain.use(spec.bodyFormat === 'form' ? formBody() : jsonBody());
    else if (!spec.ignoresBody) chain.use(noBody());
    chain.use(validateRequest({ body: spec.body, path: spec.path, query: spec.query }));
    const handler = chain.handler(async (event) => {
      const { validated } = event as ValidatedEvent<ApiEvent, unknown, unknown, unknown>;
      return fn({
        caller: callerOfEvent(event) as ApiRequest<Auth, Body, Path, Query>['caller'],
        body: validated.body as Parsed<Body>,
        path: validated.path as Parsed<Path>,
        query: validated.query as Parsed<Query>,
        headers: event.headers,
        event,
      });
    });
    return handler;
  };
}

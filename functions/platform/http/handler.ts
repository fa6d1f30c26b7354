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

export interface HandlerSpec<
  Auth extends 'jwt' | 'none',
  Body extends z.ZodMiniType | undefined,
  Path extends z.ZodMiniType | undefined,
  Query extends z.ZodMiniType | undefined,
> {
  auth: Auth;
  body?: Body;
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
  caller: Auth extends 'jwt' ? string : undefined;
  body: Parsed<Body>;
  path: Parsed<Path>;
  query: Parsed<Query>;
  headers: Record<string, string | undefined>;
  event: ApiEvent;
}

/**
 * A valid token for a subject that no user has. Not a 401: that answer is API Gateway's, in its
 * own shape, and a new token for the same subject would not help.
 */
const notAUser = () =>
  new HttpProblem({
    type: problemTypes.blank,
    status: 403,
    detail: 'The bearer token names no user of this API: its subject is longer than a user id.',
  });

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
export function callerOf(event: ApiEvent, isCaller: (sub: string) => boolean = () => true): string {
  // Typed as always there, but absent when a route is (wrongly) deployed without the authorizer.
  const context = event.requestContext as {
    authorizer?: { jwt?: { claims?: Record<string, unknown> } };
  };
  const sub = context.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub === '') throw unauthorized('A signed-in user is required.');
  if (!isCaller(sub)) throw notAUser();
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
    /** whether a JWT `sub` can be one of the product's users at all */
    isCaller?: (sub: string) => boolean;
  } = {},
) {
  const { problemFor, isCaller } = product;
  return function httpHandler<
    Auth extends 'jwt' | 'none',
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
    // Who is asking is settled before what they sent: an anonymous caller learns nothing more.
    if (spec.auth === 'jwt') chain.before((request) => void callerOf(request.event, isCaller));
    chain.use(bodySizeLimit(maxBodyBytes));
    if (spec.body) chain.use(jsonBody());
    else if (!spec.ignoresBody) chain.use(noBody());
    chain.use(validateRequest({ body: spec.body, path: spec.path, query: spec.query }));
    const handler = chain.handler(async (event) => {
      const { validated } = event as ValidatedEvent<ApiEvent, unknown, unknown, unknown>;
      return fn({
        caller: (spec.auth === 'jwt' ? callerOf(event, isCaller) : undefined) as ApiRequest<
          Auth,
          Body,
          Path,
          Query
        >['caller'],
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

/**
 * The one adapter to Instagram (API with Instagram Login): refresh a long-lived token, exchange
 * an authorization code for a short-lived token and that for a long-lived one, and build the
 * authorization URL. Base URLs are configuration, so tests and the local stack point them at
 * the stand-in in local/standins/instagram.ts.
 *
 * Tokens travel in URLs and bodies here, so nothing in this module logs a URL, a body or
 * Instagram's own message text, and no error it throws carries any of them.
 */
import * as z from './validation';
import { InstagramError, type InstagramFailure, type InstagramOperation } from './instagram-errors';
import { readSecret } from './secrets';
import { envString, envUrl } from './config';
import { lazySchema, nonEmptyString, positiveInteger, schema } from './schemas';

export const instagramEnvironment = {
  INSTAGRAM_GRAPH_URL: z._default(envUrl(), 'https://graph.instagram.com'),
  INSTAGRAM_API_URL: z._default(envUrl(), 'https://api.instagram.com'),
  INSTAGRAM_AUTHORIZE_URL: z._default(envUrl(), 'https://www.instagram.com/oauth/authorize'),
  INSTAGRAM_REDIRECT_URI: envUrl(),
  INSTAGRAM_APP_SECRET_ID: envString(),
};

export interface InstagramClientConfig {
  graphUrl: string;
  apiUrl: string;
  authorizeUrl: string;
  redirectUri: string;
  appSecretId: string;
}

export interface AppCredentials {
  appId: string;
  appSecret: string;
}

export interface LongLivedToken {
  accessToken: string;
  expiresInSeconds: number;
}

export { InstagramError, type InstagramFailure, type InstagramOperation };

export interface InstagramClient {
  refreshToken(accessToken: string): Promise<LongLivedToken>;
  /** Code → short-lived token, and the Instagram user it was issued for. */
  exchangeCode(code: string, redirectUri: string): Promise<{ accessToken: string; userId: string }>;
  exchangeForLongLivedToken(shortLivedToken: string): Promise<LongLivedToken>;
  /** Instagram's authorization page for this app, carrying `state` back to the redirect URI. */
  authorizeUrl(state: string): Promise<string>;
  appCredentials(): Promise<AppCredentials>;
  readonly redirectUri: string;
}

// A refresh reads only its own answer: the app's credentials and the code exchange's answers (a
// reconnect) and the error shapes (a failure) are built on their first use.
const appCredentialsSchema = /* @__PURE__ */ lazySchema(() =>
  z.object({ appId: nonEmptyString(), appSecret: nonEmptyString() }),
);

const longLivedTokenAnswer = /* @__PURE__ */ schema(() =>
  z.object({
    access_token: nonEmptyString(),
    expires_in: positiveInteger(),
  }),
);
const shortLivedTokenAnswer = /* @__PURE__ */ lazySchema(() =>
  z.object({
    access_token: nonEmptyString(),
    user_id: z.union([z.string().check(z.regex(/^\d+$/)), z.int().check(z.nonnegative())]),
  }),
);
/** Documented as `{data: [...]}`; observed flat. Either is accepted. */
const codeExchangeAnswer = /* @__PURE__ */ lazySchema(() =>
  z.union([
    shortLivedTokenAnswer(),
    z.object({ data: z.tuple([shortLivedTokenAnswer()], z.unknown()) }),
  ]),
);

const graphError = /* @__PURE__ */ lazySchema(() =>
  z.object({
    error: z.object({
      code: z.optional(z.number()),
      error_subcode: z.optional(z.number()),
      type: z.optional(z.string()),
      fbtrace_id: z.optional(z.string()),
    }),
  }),
);
/** api.instagram.com answers errors in its older, flat form. */
const apiError = /* @__PURE__ */ lazySchema(() =>
  z.object({ error_type: z.string(), code: z.optional(z.number()) }),
);

const rateLimitCodes = new Set([4, 17, 32, 613]);

/**
 * Instagram user ids exceed 2^53: parsed as numbers they would silently change. The reviver
 * keeps the digits as they were written.
 */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown, context?: { source?: string }) =>
    (key === 'user_id' || key === 'id') && typeof value === 'number'
      ? (context?.source ?? String(value))
      : value,
  );
}

function classify(operation: InstagramOperation, status: number, body: unknown): InstagramError {
  const graph = graphError().safeParse(body);
  if (graph.success) {
    const { code, error_subcode: subcode, fbtrace_id: fbtraceId } = graph.data.error;
    const details = { status, code, subcode, fbtraceId };
    if (code === 190) return new InstagramError('token-rejected', operation, details);
    if ((code !== undefined && rateLimitCodes.has(code)) || status === 429) {
      return new InstagramError('rate-limited', operation, details);
    }
    if (status >= 500) return new InstagramError('unavailable', operation, details);
    if (operation === 'code-exchange')
      return new InstagramError('code-rejected', operation, details);
    return new InstagramError('refused', operation, details);
  }
  if (status === 429) return new InstagramError('rate-limited', operation, { status });
  if (status >= 500) return new InstagramError('unavailable', operation, { status });
  const api = apiError().safeParse(body);
  if (operation === 'code-exchange' && api.success) {
    return new InstagramError('code-rejected', operation, { status, code: api.data.code });
  }
  return new InstagramError(status >= 400 && status < 500 ? 'refused' : 'unavailable', operation, {
    status,
  });
}

/**
 * Instagram's authorization page for the app `appId`, sending the user back to `redirectUri`
 * with `state`: for callers that only link to it (the reconnect link page).
 */
export function instagramAuthorizeUrl(
  config: Pick<InstagramClientConfig, 'authorizeUrl' | 'redirectUri'>,
  appId: string,
  state: string,
): string {
  const url = new URL(config.authorizeUrl);
  url.searchParams.set('client_id', appId);
  url.searchParams.set('redirect_uri', config.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'instagram_business_basic');
  url.searchParams.set('state', state);
  return url.toString();
}

export interface InstagramClientOptions {
  fetch?: typeof globalThis.fetch;
  /** @default the JSON secret `appSecretId` names, read once per cold start */
  credentials?: () => Promise<AppCredentials>;
  /** Per call. @default 4000: two calls and a write fit in the functions' 10 s. */
  timeoutMs?: number;
}

export function instagramConfigFrom(env: {
  INSTAGRAM_GRAPH_URL: string;
  INSTAGRAM_API_URL: string;
  INSTAGRAM_AUTHORIZE_URL: string;
  INSTAGRAM_REDIRECT_URI: string;
  INSTAGRAM_APP_SECRET_ID: string;
}): InstagramClientConfig {
  return {
    graphUrl: env.INSTAGRAM_GRAPH_URL,
    apiUrl: env.INSTAGRAM_API_URL,
    authorizeUrl: env.INSTAGRAM_AUTHORIZE_URL,
    redirectUri: env.INSTAGRAM_REDIRECT_URI,
    appSecretId: env.INSTAGRAM_APP_SECRET_ID,
  };
}

/**
 * The Instagram app's id and secret, from the JSON secret `appSecretId` names: for callers
 * that need the app secret but never call Instagram (Meta's signed callbacks).
 */
export function appCredentialsReader(appSecretId: string): () => Promise<AppCredentials> {
  return async () => {
    const invalid = new Error(
      'The Instagram app secret must hold {"appId": "...", "appSecret": "..."}, both filled in',
    );
    let stored: unknown;
    try {
      stored = JSON.parse(await readSecret(appSecretId));
    } catch (error) {
      // JSON.parse quotes the start of its input in its message: never let that be logged.
      if (error instanceof SyntaxError) throw invalid;
      throw error;
    }
    const parsed = appCredentialsSchema().safeParse(stored);
    if (!parsed.success) throw invalid;
    return parsed.data;
  };
}

export function createInstagramClient(
  config: InstagramClientConfig,
  options: InstagramClientOptions = {},
): InstagramClient {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 4000;
  const credentials = options.credentials ?? appCredentialsReader(config.appSecretId);
  const endpoint = (base: string, path: string) =>
    new URL(path, base.endsWith('/') ? base : `${base}/`);

  async function call(
    operation: InstagramOperation,
    url: URL,
    init: RequestInit = {},
  ): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      const response = await fetchImpl(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      text = await response.text();
    } catch {
      // The cause may quote the URL, and the URL carries a token: it is dropped on purpose.
      throw new InstagramError('unavailable', operation);
    }
    let body: unknown;
    try {
      body = parseJson(text);
    } catch {
      body = undefined;
    }
    if (status < 200 || status >= 300) throw classify(operation, status, body);
    if (body === undefined) throw new InstagramError('unavailable', operation, { status });
    return body;
  }

  function longLived(operation: InstagramOperation, body: unknown): LongLivedToken {
    const parsed = longLivedTokenAnswer.safeParse(body);
    if (!parsed.success) throw new InstagramError('unavailable', operation);
    return { accessToken: parsed.data.access_token, expiresInSeconds: parsed.data.expires_in };
  }

  return {
    redirectUri: config.redirectUri,
    appCredentials: credentials,

    async refreshToken(accessToken) {
      const url = endpoint(config.graphUrl, 'refresh_access_token');
      url.searchParams.set('grant_type', 'ig_refresh_token');
      url.searchParams.set('access_token', accessToken);
      return longLived('refresh', await call('refresh', url));
    },

    async exchangeCode(code, redirectUri) {
      const { appId, appSecret } = await credentials();
      const body = await call('code-exchange', endpoint(config.apiUrl, 'oauth/access_token'), {
        method: 'POST',
        body: new URLSearchParams({
          client_id: appId,
          client_secret: appSecret,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code,
        }),
      });
      const parsed = codeExchangeAnswer().safeParse(body);
      if (!parsed.success) throw new InstagramError('unavailable', 'code-exchange');
      const answer = 'data' in parsed.data ? parsed.data.data[0] : parsed.data;
      return { accessToken: answer.access_token, userId: String(answer.user_id) };
    },

    async exchangeForLongLivedToken(shortLivedToken) {
      const { appSecret } = await credentials();
      const url = endpoint(config.graphUrl, 'access_token');
      url.searchParams.set('grant_type', 'ig_exchange_token');
      url.searchParams.set('client_secret', appSecret);
      url.searchParams.set('access_token', shortLivedToken);
      return longLived('long-lived-exchange', await call('long-lived-exchange', url));
    },

    async authorizeUrl(state) {
      const { appId } = await credentials();
      return instagramAuthorizeUrl(config, appId, state);
    },
  };
}

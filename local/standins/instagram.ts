/**
 * A local Instagram (API with Instagram Login) for the tests and `npm start`, speaking its real
 * wire format: the three token endpoints with their success bodies, Graph-style errors
 * (`{"error":{"type":"OAuthException","code":190,...}}`) on graph.instagram.com paths and the
 * older flat errors (`{"error_type":"OAuthException","code":400,"error_message":...}`) on
 * api.instagram.com's code exchange, plus an authorization page that hands out codes.
 *
 * One server plays both hosts: point INSTAGRAM_GRAPH_URL and INSTAGRAM_API_URL at `endpoint`
 * and INSTAGRAM_AUTHORIZE_URL at `authorizeUrl`.
 *
 * Refreshes: a token can be given a lasting outcome (`setRefreshOutcome`), and every refresh of
 * it answers that way until another is set; `failNext` is for one-off failures and comes first.
 * A successful refresh issues a new token that inherits nothing (its outcome is `ok`). The old
 * token stays valid until its own expiry: that is what Instagram observably does, and Meta's
 * documentation says nothing either way. `rotateOnRefresh: true` instead revokes the old token
 * the moment a new one is issued, to show what would happen if Instagram ever rotated tokens:
 * from then on the old one is refused as a 190 with subcode 467 ("The access token is invalid").
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type InstagramStandInOperation = 'refresh' | 'code-exchange' | 'long-lived-exchange';

/**
 * How the stand-in answers every refresh of a token, in the words of DESIGN.md's causes:
 * `ok` as normal; `password-changed` 190/460; `app-removed` 190/458; `checkpoint` 190/459;
 * `expired` 190/463; `server-error` HTTP 500 with Graph's "unknown error" body; `rate-limit`
 * code 4, "Application request limit reached".
 */
export const instagramRefreshOutcomes = [
  'ok',
  'password-changed',
  'app-removed',
  'checkpoint',
  'expired',
  'server-error',
  'rate-limit',
] as const;
export type InstagramRefreshOutcome = (typeof instagramRefreshOutcomes)[number];

/**
 * - `invalid-token`: 190, the token was revoked (subcode 460);
 * - `expired-token`: 190, the session has expired (subcode 463);
 * - `rejected-<subcode>` (or `rejected` for none): 190 with that subcode, as Meta's
 *   authentication subcodes say: 458 the app was removed, 459 a checkpoint, 460 the password
 *   changed, 463 expired, 464 an unconfirmed user, 467 an invalid token;
 * - `rate-limit`: code 4, "Application request limit reached";
 * - `server-error`: HTTP 500 with Graph's "unknown error" body;
 * - `malformed`: HTTP 200 with an HTML body;
 * - `code-rejected`: the code exchange refuses the code.
 */
export type InstagramStandInFailure =
  | 'invalid-token'
  | 'expired-token'
  | 'rejected'
  | `rejected-${number}`
  | 'rate-limit'
  | 'server-error'
  | 'malformed'
  | 'code-rejected';

/** What Instagram says with each authentication subcode (Meta's "Authentication error subcodes"). */
const rejectionMessages: Record<number, string> = {
  458: 'Error validating access token: The user has not authorized application.',
  459: 'Error validating access token: The user is enrolled in a blocking, logged-in checkpoint',
  460: 'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
  463: 'Error validating access token: Session has expired.',
  464: 'Error validating access token: Sessions for the user are not allowed because the user is not a confirmed user.',
  467: 'Error validating access token: The access token is invalid.',
};

export interface InstagramStandInOptions {
  /** @default a free port */
  port?: number;
  /** The app's credentials; when given, calls with others are refused. @default any app */
  app?: { appId: string; appSecret: string };
  /**
   * Treat a token it was never told about as a valid long-lived token (of an unknown user).
   * @default true, so the local stack's demo tokens refresh; tests pass false.
   */
  acceptUnknownTokens?: boolean;
  /** The shape of a code exchange's answer: flat as observed, or wrapped in `data` as documented. @default 'flat' */
  codeAnswer?: 'flat' | 'data';
  /**
   * Revoke a token as soon as a refresh replaces it, instead of letting it live until its own
   * expiry as Instagram does: the worst case, for tests. @default false
   */
  rotateOnRefresh?: boolean;
  /** The clock of token expiries. @default the real clock */
  now?: () => Date;
}

export interface KnownToken {
  userId: string;
  expiresAt: Date;
  kind: 'short-lived' | 'long-lived';
  revoked: boolean;
  /** Revoked because a refresh replaced it (`rotateOnRefresh`). */
  rotated?: boolean;
}

export interface InstagramStandInCall {
  operation: InstagramStandInOperation | 'authorize';
  /** The request's parameters (query or form), tokens included: this stays in memory. */
  params: Record<string, string>;
  /** When the request arrived, by the real clock (never `options.now`): for calls per second. */
  at: Date;
}

export interface InstagramStandIn {
  /** Base URL for both graph.instagram.com and api.instagram.com paths. */
  endpoint: string;
  /** The authorization page (`/oauth/authorize`). */
  authorizeUrl: string;
  /** Makes a long-lived token known, e.g. one seeded into the table. */
  addToken(token: string, details: { userId: string; expiresAt: Date | string }): void;
  /** Revokes a token: Instagram answers 190 for it from now on. */
  revokeToken(token: string): void;
  tokenInfo(token: string): KnownToken | undefined;
  /** An authorization code Instagram would hand back for `userId` (usable once). */
  registerCode(code: string, userId: string): void;
  /** From now on every refresh of `accessToken` answers this way (`ok`: as normal). */
  setRefreshOutcome(accessToken: string, outcome: InstagramRefreshOutcome): void;
  /** How refreshes of `accessToken` answer: `ok` unless set otherwise. */
  refreshOutcome(accessToken: string): InstagramRefreshOutcome;
  /** The next `times` calls (of `operation`, or of any) fail this way. */
  failNext(
    failure: InstagramStandInFailure,
    options?: { operation?: InstagramStandInOperation; times?: number },
  ): void;
  /** Every call so far, oldest first. */
  readonly calls: readonly InstagramStandInCall[];
  /** Every token it has issued (refreshed, short-lived, long-lived), oldest first. */
  issuedTokens(): string[];
  /** Forgets tokens, codes, refresh outcomes, pending failures and calls. */
  reset(): void;
  stop(): Promise<void>;
}

const longLivedSeconds = 60 * 86_400;
const shortLivedSeconds = 3_600;
const traceId = () => randomBytes(9).toString('base64url');
const newToken = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

export async function startInstagramStandIn(
  options: InstagramStandInOptions = {},
): Promise<InstagramStandIn> {
  const now = options.now ?? (() => new Date());
  const acceptUnknown = options.acceptUnknownTokens ?? true;
  const tokens = new Map<string, KnownToken>();
  const codes = new Map<string, { userId: string; used: boolean }>();
  const failures: { failure: InstagramStandInFailure; operation?: InstagramStandInOperation }[] =
    [];
  const outcomes = new Map<string, Exclude<InstagramRefreshOutcome, 'ok'>>();
  const calls: InstagramStandInCall[] = [];
  const issued: string[] = [];

  const send = (
    response: ServerResponse,
    status: number,
    body: unknown,
    type = 'application/json',
  ) => {
    response.writeHead(status, { 'content-type': type });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const graphError = (
    response: ServerResponse,
    status: number,
    error: {
      message: string;
      code: number;
      error_subcode?: number;
      type?: string;
      is_transient?: boolean;
    },
  ) => {
    send(response, status, {
      error: { type: 'OAuthException', ...error, fbtrace_id: traceId() },
    });
  };
  const apiError = (response: ServerResponse, message: string) => {
    send(response, 400, { error_type: 'OAuthException', code: 400, error_message: message });
  };

  function injectedFailure(
    operation: InstagramStandInOperation,
    response: ServerResponse,
  ): boolean {
    const index = failures.findIndex((f) => f.operation === undefined || f.operation === operation);
    if (index === -1) return false;
    const [{ failure }] = failures.splice(index, 1) as [{ failure: InstagramStandInFailure }];
    answerFailure(failure, response);
    return true;
  }

  /** The failure each lasting refresh outcome answers with. */
  const outcomeFailures: Record<Exclude<InstagramRefreshOutcome, 'ok'>, InstagramStandInFailure> = {
    'password-changed': 'rejected-460',
    'app-removed': 'rejected-458',
    checkpoint: 'rejected-459',
    expired: 'expired-token',
    'server-error': 'server-error',
    'rate-limit': 'rate-limit',
  };

  function answerFailure(failure: InstagramStandInFailure, response: ServerResponse): void {
    if (failure === 'rejected' || failure.startsWith('rejected-')) {
      const subcode =
        failure === 'rejected' ? undefined : Number(failure.slice('rejected-'.length));
      graphError(response, 400, {
        message:
          (subcode === undefined ? undefined : rejectionMessages[subcode]) ??
          'Invalid OAuth access token.',
        code: 190,
        ...(subcode === undefined ? {} : { error_subcode: subcode }),
      });
      return;
    }
    switch (failure) {
      case 'invalid-token':
        graphError(response, 400, {
          message:
            'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
          code: 190,
          error_subcode: 460,
        });
        break;
      case 'expired-token':
        graphError(response, 400, {
          message: `Error validating access token: Session has expired on ${now().toUTCString()}.`,
          code: 190,
          error_subcode: 463,
        });
        break;
      case 'rate-limit':
        graphError(response, 400, {
          message: 'Application request limit reached',
          code: 4,
          is_transient: true,
        });
        break;
      case 'server-error':
        graphError(response, 500, {
          message: 'An unknown error has occurred.',
          code: 1,
          is_transient: true,
        });
        break;
      case 'malformed':
        send(response, 200, '<html><body>Sorry, something went wrong.</body></html>', 'text/html');
        break;
      case 'code-rejected':
        apiError(response, 'Invalid authorization code');
        break;
    }
  }

  /** A token Graph would accept, or the error it would answer instead. */
  function checkToken(token: string | undefined, response: ServerResponse): KnownToken | undefined {
    const known = token === undefined ? undefined : tokens.get(token);
    if (!token || (!known && !acceptUnknown)) {
      graphError(response, 400, {
        message: 'Invalid OAuth access token - Cannot parse access token',
        code: 190,
      });
      return undefined;
    }
    const info = known ?? {
      userId: '0',
      expiresAt: new Date(now().getTime() + longLivedSeconds * 1000),
      kind: 'long-lived' as const,
      revoked: false,
    };
    if (info.rotated) {
      graphError(response, 400, {
        message: rejectionMessages[467] ?? 'Invalid OAuth access token.',
        code: 190,
        error_subcode: 467,
      });
      return undefined;
    }
    if (info.revoked) {
      graphError(response, 400, {
        message: 'Error validating access token: The user has not authorized application.',
        code: 190,
        error_subcode: 458,
      });
      return undefined;
    }
    if (info.expiresAt.getTime() <= now().getTime()) {
      graphError(response, 400, {
        message: `Error validating access token: Session has expired on ${info.expiresAt.toUTCString()}. The current time is ${now().toUTCString()}.`,
        code: 190,
        error_subcode: 463,
      });
      return undefined;
    }
    return info;
  }

  const appMatches = (clientId?: string, clientSecret?: string) =>
    !options.app ||
    ((clientId === undefined || clientId === options.app.appId) &&
      clientSecret === options.app.appSecret);

  function issue(kind: KnownToken['kind'], userId: string): { token: string; seconds: number } {
    const seconds = kind === 'long-lived' ? longLivedSeconds : shortLivedSeconds;
    const token = newToken(kind === 'long-lived' ? 'IGAA' : 'IGQ');
    issued.push(token);
    tokens.set(token, {
      userId,
      expiresAt: new Date(now().getTime() + seconds * 1000),
      kind,
      revoked: false,
    });
    return { token, seconds };
  }

  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (text += chunk));
      request.on('end', () => {
        resolve(text);
      });
      request.on('error', reject);
    });

  async function route(request: IncomingMessage, response: ServerResponse) {
    const at = new Date();
    const url = new URL(request.url ?? '/', 'http://instagram.local');
    const query = Object.fromEntries(url.searchParams);
    const method = request.method ?? 'GET';

    if (method === 'GET' && url.pathname === '/refresh_access_token') {
      calls.push({ operation: 'refresh', params: query, at });
      if (injectedFailure('refresh', response)) return;
      if (query.grant_type !== 'ig_refresh_token') {
        graphError(response, 400, { message: 'Unsupported grant type', code: 100 });
        return;
      }
      const outcome = outcomes.get(query.access_token ?? '');
      if (outcome) {
        answerFailure(outcomeFailures[outcome], response);
        return;
      }
      const info = checkToken(query.access_token, response);
      if (!info) return;
      const { token, seconds } = issue('long-lived', info.userId);
      if (options.rotateOnRefresh && query.access_token) {
        const old = tokens.get(query.access_token) ?? { ...info };
        tokens.set(query.access_token, { ...old, revoked: true, rotated: true });
      }
      send(response, 200, { access_token: token, token_type: 'bearer', expires_in: seconds });
      return;
    }

    if (method === 'GET' && url.pathname === '/access_token') {
      calls.push({ operation: 'long-lived-exchange', params: query, at });
      if (injectedFailure('long-lived-exchange', response)) return;
      if (query.grant_type !== 'ig_exchange_token') {
        graphError(response, 400, { message: 'Unsupported grant type', code: 100 });
        return;
      }
      if (!appMatches(undefined, query.client_secret)) {
        graphError(response, 400, { message: 'Error validating client secret.', code: 101 });
        return;
      }
      const info = checkToken(query.access_token, response);
      if (!info) return;
      const { token, seconds } = issue('long-lived', info.userId);
      send(response, 200, { access_token: token, token_type: 'bearer', expires_in: seconds });
      return;
    }

    if (method === 'POST' && url.pathname === '/oauth/access_token') {
      const form = Object.fromEntries(new URLSearchParams(await readBody(request)));
      calls.push({ operation: 'code-exchange', params: form, at });
      if (injectedFailure('code-exchange', response)) return;
      if (!appMatches(form.client_id, form.client_secret)) {
        apiError(response, 'Invalid platform app');
        return;
      }
      if (form.grant_type !== 'authorization_code') {
        apiError(response, 'Invalid grant_type');
        return;
      }
      const code = codes.get(form.code ?? '');
      if (!code) {
        apiError(response, 'Invalid authorization code');
        return;
      }
      if (code.used) {
        apiError(response, 'This authorization code has been used');
        return;
      }
      code.used = true;
      const { token } = issue('short-lived', code.userId);
      // The user id is written as a bare number, as Instagram does, though it exceeds 2^53.
      const answer = `{"access_token":${JSON.stringify(token)},"user_id":${/^\d+$/.test(code.userId) ? code.userId : JSON.stringify(code.userId)},"permissions":["instagram_business_basic"]}`;
      send(response, 200, options.codeAnswer === 'data' ? `{"data":[${answer}]}` : answer);
      return;
    }

    if (url.pathname === '/oauth/authorize') {
      await authorizePage(method, url, at, request, response);
      return;
    }

    graphError(response, 400, {
      message: 'Unsupported get request. Please read the Graph API documentation',
      code: 100,
      error_subcode: 33,
    });
  }

  /**
   * Instagram's consent screen, reduced to one button: it issues a code for the Instagram user
   * named in the form (by default the account id the state starts with) and redirects back
   * with `code`, `state` and the `#_` Instagram appends.
   */
  async function authorizePage(
    method: string,
    url: URL,
    at: Date,
    request: IncomingMessage,
    response: ServerResponse,
  ) {
    const params =
      method === 'POST'
        ? Object.fromEntries(new URLSearchParams(await readBody(request)))
        : Object.fromEntries(url.searchParams);
    calls.push({ operation: 'authorize', params, at });
    const redirectUri = params.redirect_uri;
    if (!redirectUri || params.response_type !== 'code') {
      send(
        response,
        400,
        'Invalid request: redirect_uri and response_type=code are required',
        'text/plain',
      );
      return;
    }
    if (method === 'POST') {
      const code = newToken('AQ');
      codes.set(code, { userId: params.user_id ?? '0', used: false });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      if (params.state) back.searchParams.set('state', params.state);
      response.writeHead(302, { location: `${back.toString()}#_` });
      response.end();
      return;
    }
    const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const suggested = (params.state ?? '').split('.')[0] ?? '';
    const hidden = Object.entries(params)
      .map(
        ([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`,
      )
      .join('');
    send(
      response,
      200,
      `<!doctype html><meta charset="utf-8"><title>Instagram (local stand-in)</title>
<body style="font-family:system-ui;max-width:30rem;margin:4rem auto">
<h1>Allow access to your Instagram account?</h1>
<form method="post">${hidden}
<label>Log in as Instagram user id <input name="user_id" value="${escape(suggested)}"></label>
<p><button>Allow</button></p></form></body>`,
      'text/html; charset=utf-8',
    );
  }

  const server: Server = createServer((request, response) => {
    route(request, response).catch(() => {
      if (!response.headersSent)
        send(response, 500, { error: { message: 'stand-in failure', code: 1 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('stand-in has no port');
  const endpoint = `http://127.0.0.1:${address.port}`;

  return {
    endpoint,
    authorizeUrl: `${endpoint}/oauth/authorize`,
    addToken(token, { userId, expiresAt }) {
      tokens.set(token, {
        userId,
        expiresAt: new Date(expiresAt),
        kind: 'long-lived',
        revoked: false,
      });
    },
    revokeToken(token) {
      const known = tokens.get(token);
      if (known) known.revoked = true;
      else
        tokens.set(token, {
          userId: '0',
          expiresAt: new Date(0),
          kind: 'long-lived',
          revoked: true,
        });
    },
    tokenInfo: (token) => tokens.get(token),
    registerCode(code, userId) {
      codes.set(code, { userId, used: false });
    },
    setRefreshOutcome(accessToken, outcome) {
      if (outcome === 'ok') outcomes.delete(accessToken);
      else outcomes.set(accessToken, outcome);
    },
    refreshOutcome: (accessToken) => outcomes.get(accessToken) ?? 'ok',
    failNext(failure, { operation, times = 1 } = {}) {
      for (let i = 0; i < times; i += 1) failures.push({ failure, operation });
    },
    calls,
    issuedTokens: () => [...issued],
    reset() {
      issued.length = 0;
      tokens.clear();
      codes.clear();
      outcomes.clear();
      failures.length = 0;
      calls.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * Calls the API the way API Gateway would: route matching from lib/routes.ts, the JWT
 * authorizer on `auth: 'jwt'` routes (with a test identity provider's keys), a realistic
 * payload 2.0 event, the real handler module. Records every response, so a file can check at
 * the end that no secret ever left in one.
 */
import {
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { routes } from '../../lib/routes';
import { serviceScope } from '../../functions/api/scopes';
import { createLocalApiGateway, type GatewayResponse } from '../../local/api-gateway';

export const testIssuer = 'https://id.tokenwatch.test/';
export const testAudience = 'tokenwatch-frontend';
/** The widget service's client: the service routes' audience, matched on `client_id`. */
export const testServiceClient = 'tokenwatch-service-client';

export interface TestIdentity {
  /** A valid RS256 token for `sub`, unless the options say otherwise. */
  token(sub: string, options?: TokenOptions): Promise<string>;
  /**
   * A client-credentials token as Cognito issues one (`client_id`, no `aud`, `scope`
   * `tokenwatch/service`), unless the options say otherwise.
   */
  serviceToken(options?: TokenOptions): Promise<string>;
  /** A token signed by a key the API does not know. */
  tokenFromWrongKey(sub: string): Promise<string>;
  /** An unsecured token (`alg: none`) claiming to be `sub`. */
  unsignedToken(sub: string): string;
  jwks: { keys: JWK[] };
}

export interface TokenOptions {
  /** `null`: no `aud` claim at all. */
  audience?: string | null;
  issuer?: string;
  expiresInSeconds?: number;
  claims?: JWTPayload;
}

export async function createTestIdentity(
  now: () => Date = () => new Date(),
): Promise<TestIdentity> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const sign = (key: CryptoKey, kid: string, sub: string, options: TokenOptions = {}) => {
    const issuedAt = Math.floor(now().getTime() / 1000);
    const jwt = new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(sub)
      .setIssuer(options.issuer ?? testIssuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + (options.expiresInSeconds ?? 3600));
    if (options.audience !== null) jwt.setAudience(options.audience ?? testAudience);
    return jwt.sign(key);
  };
  return {
    token: (sub, options) => sign(privateKey, 'test-key', sub, options),
    serviceToken: (options = {}) =>
      sign(privateKey, 'test-key', testServiceClient, {
        audience: null,
        ...options,
        claims: {
          token_use: 'access',
          scope: serviceScope,
          client_id: testServiceClient,
          ...options.claims,
        },
      }),
    tokenFromWrongKey: (sub) => sign(stranger.privateKey, 'test-key', sub),
    unsignedToken(sub) {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const issuedAt = Math.floor(now().getTime() / 1000);
      return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, iss: testIssuer, aud: testAudience, iat: issuedAt, exp: issuedAt + 3600 })}.`;
    },
    jwks: { keys: [jwk] },
  };
}

export interface TestResponse extends GatewayResponse {
  status: number;
  /** The body parsed as JSON; the test says what it expects to find. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed view for assertions
  json<T = Record<string, unknown>>(): T;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as it is, not as JSON. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export function createTestApi(identity: TestIdentity, now: () => Date = () => new Date()) {
  const gateway = createLocalApiGateway({
    routes,
    loadHandler: (entry) => import(`../../functions/${entry}.ts`),
    jwt: { issuer: testIssuer, audience: testAudience, keys: createLocalJWKSet(identity.jwks) },
    serviceJwt: {
      issuer: testIssuer,
      audience: testServiceClient,
      keys: createLocalJWKSet(identity.jwks),
    },
    now,
  });
  const responses: TestResponse[] = [];

  async function call(
    method: string,
    url: string,
    options: CallOptions = {},
  ): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await gateway.invoke({ method, url, headers, body });
    const result: TestResponse = {
      ...response,
      status: response.statusCode,
      json: () => JSON.parse(response.body) as never,
    };
    responses.push(result);
    return result;
  }

  return { call, responses };
}

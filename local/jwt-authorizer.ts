/**
 * What API Gateway's JWT authorizer does in front of every `auth: 'jwt'` route, for the places
 * where there is no API Gateway: the local stack and the tests. In AWS this code never runs;
 * the handlers only read the claims the authorizer left on the event.
 *
 * Like API Gateway: the token comes from the Authorization header, with or without `Bearer `;
 * only RSA signatures are accepted (so `alg: none` and HMAC tokens fail); `exp` is required;
 * `nbf` and `iat` may not be in the future; `iss` must be the issuer; and `aud` or, only when
 * there is no `aud` (Cognito access tokens), `client_id` must be one of the audiences.
 */
import {
  errors,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
  type JWTVerifyGetKey,
  type KeyObject,
} from 'jose';
import { unauthorized, type Problem } from '../functions/platform/http/problem';

export interface JwtAuthorizerOptions {
  issuer: string;
  audience: string | readonly string[];
  /** A JWKS getter (`createLocalJWKSet`, `createRemoteJWKSet`) or a single public key. */
  keys: JWTVerifyGetKey | CryptoKey | KeyObject;
  /** @default the real clock */
  now?: () => Date;
}

export type JwtClaims = JWTPayload & { sub: string };

export type JwtAuthorization =
  | { authorized: true; claims: JwtClaims }
  | { authorized: false; problem: Problem; headers: Record<string, string> };

const rsaAlgorithms = ['RS256', 'RS384', 'RS512'];

function refuse(detail: string): JwtAuthorization {
  const { problem, headers } = unauthorized(detail);
  return { authorized: false, problem, headers };
}

export async function authorizeJwt(
  authorizationHeader: string | undefined,
  options: JwtAuthorizerOptions,
): Promise<JwtAuthorization> {
  const token = authorizationHeader?.replace(/^Bearer\s+/i, '').trim();
  if (!token) return refuse('Sign in: this request needs a bearer token.');
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys as JWTVerifyGetKey, {
      issuer: options.issuer,
      algorithms: rsaAlgorithms,
      requiredClaims: ['exp'],
      currentDate: options.now?.(),
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return refuse('The bearer token has expired.');
    if (error instanceof errors.JOSEError) return refuse('The bearer token is not valid.');
    throw error;
  }
  const issuedAt = payload.iat;
  const now = (options.now?.() ?? new Date()).getTime() / 1000;
  if (issuedAt !== undefined && issuedAt > now) return refuse('The bearer token is not valid.');
  // As API Gateway: `aud` when the token has one, and `client_id` (Cognito's access tokens,
  // client-credentials ones among them) only when it has none.
  const tokenAudiences =
    payload.aud !== undefined
      ? Array.isArray(payload.aud)
        ? payload.aud
        : [payload.aud]
      : typeof payload.client_id === 'string'
        ? [payload.client_id]
        : [];
  if (!tokenAudiences.some((audience) => audiences.includes(audience))) {
    return refuse('The bearer token is not meant for this API.');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    return refuse('The bearer token names no user.');
  }
  return { authorized: true, claims: payload as JwtClaims };
}

/**
 * The claims as API Gateway hands them to a Lambda (payload 2.0): every value a string, arrays
 * written as `[a b]`. Handlers see exactly what they would see in AWS.
 */
export function claimsAsApiGatewayPassesThem(claims: JWTPayload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(claims).map(([name, value]) => [
      name,
      Array.isArray(value)
        ? `[${value.map(String).join(' ')}]`
        : typeof value === 'object' && value !== null
          ? JSON.stringify(value)
          : String(value),
    ]),
  );
}

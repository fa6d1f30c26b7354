/**
 * The local stack's identity provider: a key pair made at start, its JWKS, and tokens for any
 * `sub`. The local API checks them as API Gateway's JWT authorizer would (signature against
 * the JWKS, issuer, audience, expiry), with `jose` rather than hand-written crypto.
 */
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type CryptoKey } from 'jose';
import { serviceScope } from '../functions/api/scopes';

export interface LocalIdentityProvider {
  issuer: string;
  audience: string;
  /** The widget service's client id: the service routes' audience. */
  serviceClientId: string;
  jwks: JSONWebKeySet;
  tokenFor(sub: string, lifetimeSeconds?: number): Promise<string>;
  /**
   * A client-credentials token as Cognito issues one: `sub` and `client_id` are the client,
   * no `aud`, and `scope` is `tokenwatch/service`.
   */
  serviceToken(lifetimeSeconds?: number): Promise<string>;
}

export async function createLocalIdentityProvider(
  issuer: string,
  audience = 'tokenwatch-local',
  serviceClientId = 'tokenwatch-local-service',
): Promise<LocalIdentityProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'tokenwatch-local-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return {
    issuer,
    audience,
    serviceClientId,
    jwks: { keys: [publicJwk] },
    tokenFor: (sub, lifetimeSeconds = 3600) =>
      sign(privateKey, kid, issuer, audience, sub, lifetimeSeconds),
    serviceToken: (lifetimeSeconds = 3600) =>
      new SignJWT({ token_use: 'access', scope: serviceScope, client_id: serviceClientId })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(serviceClientId)
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime(`${lifetimeSeconds}s`)
        .sign(privateKey),
  };
}

function sign(
  key: CryptoKey,
  kid: string,
  issuer: string,
  audience: string,
  sub: string,
  lifetimeSeconds: number,
): Promise<string> {
  return new SignJWT({ token_use: 'access', scope: 'tokenwatch' })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setSubject(sub)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${lifetimeSeconds}s`)
    .sign(key);
}

/**
 * Meta's callbacks: the signed request verified under the Instagram app secret, or a 400 that
 * says only which way it failed (never the request, never the secret).
 */
import { validationProblem } from '#platform/http/problem';
import { InvalidSignedRequestError, verifySignedRequest } from '#platform/meta-signed-request';
import type { AppCredentials } from '#platform/instagram';

const details = {
  malformed: 'The signed request is malformed.',
  'bad-signature': 'The signed request is not signed with this app’s secret.',
  'unsupported-algorithm': 'The signed request uses an algorithm other than HMAC-SHA256.',
} as const;

export async function signedRequestOf(
  signedRequest: string,
  credentials: () => Promise<AppCredentials>,
) {
  const { appSecret } = await credentials();
  try {
    return verifySignedRequest(signedRequest, appSecret);
  } catch (error) {
    if (!(error instanceof InvalidSignedRequestError)) throw error;
    const detail = details[error.reason];
    throw validationProblem([{ detail, pointer: '#/signed_request' }], detail);
  }
}

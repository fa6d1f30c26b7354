import type { SignedTokenRefusal } from '#platform/signed-token';

// The words a person sees on the page or in the problem's detail; a forgery and a link for
// something else get the same ones, since neither is theirs to act on.
const messages: Record<SignedTokenRefusal, string> = {
  malformed: 'This unsubscribe link is malformed.',
  forged: 'This unsubscribe link is not valid.',
  'wrong-purpose': 'This unsubscribe link is not valid.',
  expired: 'This unsubscribe link has expired.',
};

/** A one-click unsubscribe link that is forged, altered, malformed or expired. */
export class InvalidUnsubscribeTokenError extends Error {
  override name = 'InvalidUnsubscribeTokenError';

  constructor(
    readonly reason: SignedTokenRefusal,
    options?: ErrorOptions,
  ) {
    super(messages[reason], options);
  }
}

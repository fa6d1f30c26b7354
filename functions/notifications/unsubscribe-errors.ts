/** A one-click unsubscribe link that is forged, altered, malformed or expired. */
export class InvalidUnsubscribeTokenError extends Error {
  override name = 'InvalidUnsubscribeTokenError';
}

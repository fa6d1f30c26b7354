import { purposeMac } from '#platform/signed-token';

/**
 * The OAuth `state` for re-authorizing an account: the account id, so the frontend's redirect
 * page knows which account to reconnect, then a MAC over account and user with the app secret,
 * so a later version can check the round trip without changing the format.
 * Format: `<accountId>.<base64url HMAC-SHA256, 22 chars>`; the frontend depends on it, so it is
 * a bare MAC rather than a signed token.
 */
export function reauthorizeState(accountId: string, userId: string, appSecret: string): string {
  return `${accountId}.${purposeMac('reauthorize', `${accountId}:${userId}`, appSecret, 22)}`;
}

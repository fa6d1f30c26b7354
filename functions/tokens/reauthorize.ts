import { createHmac } from 'node:crypto';

/**
 * The OAuth `state` for re-authorizing an account: the account id, so the frontend's redirect
 * page knows which account to reconnect, then a MAC over account and user with the app secret,
 * so a later version can check the round trip without changing the format.
 * Format: `<accountId>.<base64url HMAC-SHA256, 22 chars>`.
 */
export function reauthorizeState(accountId: string, userId: string, appSecret: string): string {
  const mac = createHmac('sha256', appSecret)
    .update(`reauthorize:${accountId}:${userId}`)
    .digest('base64url')
    .slice(0, 22);
  return `${accountId}.${mac}`;
}

/**
 * GET /me/instagram-accounts: the accounts the caller owns or develops for, read through the
 * member index (never a scan), with each token's status, expiry and, for a token that is not
 * active, its cause (`null` while active), but never the token.
 */
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { createMemberships } from '#tokens/memberships';
import { displayedCause, displayedStatus } from '#tokens/lifecycle';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'list-instagram-accounts'>);
const store = createMemberships(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt' }, async ({ caller }) => {
  const now = new Date();
  const accounts = await store.listAccountsOf(caller);
  return json(200, {
    accounts: accounts.map((account) => ({
      accountId: account.accountId,
      username: account.username,
      relation: account.relation,
      tokenStatus: displayedStatus(account, now),
      cause: displayedCause(account, now) ?? null,
      expiresAt: account.expiresAt,
    })),
  });
});

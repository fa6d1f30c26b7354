/**
 * GET /me/instagram-accounts: the accounts the caller owns or develops for, read through the
 * member index (never a scan), with each token's status and expiry but never the token.
 */
import { documentClient } from '#commons/clients/dynamodb';
import { envString, readConfig } from '#commons/config';
import { httpHandler } from '#commons/http/handler';
import { json } from '#commons/http/responses';
import { createStore } from '#commons/store';
import { effectiveTokenStatus } from '#commons/token-refresh';

const config = readConfig({ TABLE_NAME: envString() });
const store = createStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt' }, async ({ caller }) => {
  const now = new Date();
  const accounts = await store.listAccountsOf(caller);
  return json(200, {
    accounts: accounts.map((account) => ({
      accountId: account.accountId,
      username: account.username,
      relation: account.relation,
      tokenStatus: effectiveTokenStatus(account, now),
      expiresAt: account.expiresAt,
    })),
  });
});

/**
 * POST /instagram-accounts/{accountId}/token/refresh: extends the account's token with
 * Instagram, for its owner or one of its developers (see #tokens/access for who may, #tokens/refresh for the rules).
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { refreshToken } from '#tokens/refresh';
import { requireAccess } from '#tokens/access';
import { tokenFlowDependencies } from '#tokens/wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler({ auth: 'jwt', path: accountPath }, async ({ caller, path }) => {
  const { relation } = await requireAccess(dependencies.store, path.accountId, caller);
  return json(200, await refreshToken(dependencies, path.accountId, { by: caller, relation }));
});

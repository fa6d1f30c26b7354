/**
 * POST /instagram-accounts/{accountId}/token: exchanges the code from Instagram's redirect for a
 * long-lived token of the same Instagram user and stores it (see #tokens/reconnect).
 */
import { accountPath, reconnectBody } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { json } from '#platform/http/responses';
import { reconnectToken } from '#tokens/reconnect';
import { requireAccess } from '#tokens/access';
import { tokenFlowDependencies } from '#tokens/wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler(
  { auth: 'jwt', path: accountPath, body: reconnectBody },
  async ({ caller, path, body }) => {
    const { account, relation } = await requireAccess(dependencies.store, path.accountId, caller);
    return json(200, await reconnectToken(dependencies, account, { by: caller, relation }, body));
  },
);

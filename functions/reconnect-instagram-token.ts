/**
 * POST /instagram-accounts/{accountId}/token: exchanges the code from Instagram's redirect for a
 * long-lived token of the same Instagram user and stores it (see #commons/token-refresh).
 */
import { accountPath, reconnectBody } from '#commons/api-schemas';
import { httpHandler } from '#commons/http/handler';
import { json } from '#commons/http/responses';
import { reconnectToken } from '#commons/token-refresh';
import { tokenFlowDependencies } from '#commons/token-flow-wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler(
  { auth: 'jwt', path: accountPath, body: reconnectBody },
  async ({ caller, path, body }) =>
    json(200, await reconnectToken(dependencies, path.accountId, caller, body)),
);

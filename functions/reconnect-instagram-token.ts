/**
 * POST /instagram-accounts/{accountId}/token: exchanges the code from Instagram's redirect for a
 * long-lived token of the same Instagram user and stores it (see #tokens/refresh).
 */
import { accountPath, reconnectBody } from '#api/schemas';
import { httpHandler } from '#platform/http/handler';
import { json } from '#platform/http/responses';
import { reconnectToken } from '#tokens/refresh';
import { tokenFlowDependencies } from '#tokens/wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler(
  { auth: 'jwt', path: accountPath, body: reconnectBody },
  async ({ caller, path, body }) =>
    json(200, await reconnectToken(dependencies, path.accountId, caller, body)),
);

/**
 * POST /instagram-accounts/{accountId}/token/refresh: extends the account's token with
 * Instagram, for its owner or one of its developers (see #tokens/refresh for the rules).
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#platform/http/handler';
import { json } from '#platform/http/responses';
import { refreshToken } from '#tokens/refresh';
import { tokenFlowDependencies } from '#tokens/wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler({ auth: 'jwt', path: accountPath }, async ({ caller, path }) =>
  json(200, await refreshToken(dependencies, path.accountId, caller)),
);

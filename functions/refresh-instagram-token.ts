/**
 * POST /instagram-accounts/{accountId}/token/refresh: extends the account's token with
 * Instagram, for its owner or one of its developers (see #commons/token-refresh for the rules).
 */
import { accountPath } from '#commons/api-schemas';
import { httpHandler } from '#commons/http/handler';
import { json } from '#commons/http/responses';
import { refreshToken } from '#commons/token-refresh';
import { tokenFlowDependencies } from '#commons/token-flow-wiring';

const dependencies = tokenFlowDependencies();

export const handler = httpHandler({ auth: 'jwt', path: accountPath }, async ({ caller, path }) =>
  json(200, await refreshToken(dependencies, path.accountId, caller)),
);

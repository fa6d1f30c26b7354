/**
 * DELETE /instagram-accounts/{accountId}/reconnect-links/{linkId}: the owner or a developer
 * revokes a link; 204, also again. A used link stays used; an unknown one is 404.
 */
import { reconnectLinkPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { noContent } from '#platform/http/responses';
import { requireAccess } from '#tokens/access';
import { createAccountRepository } from '#tokens/accounts';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import { revokeReconnectLink } from '#tokens/reconnect-link-flows';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'revoke-reconnect-link'>);
const db = documentClient();
const access = {
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createDeveloperRoleRepository(db, config.TABLE_NAME),
};
const links = createReconnectLinkStore(db, config.TABLE_NAME);

export const handler = httpHandler(
  { auth: 'jwt', path: reconnectLinkPath },
  async ({ caller, path }) => {
    await requireAccess(access, path.accountId, caller);
    await revokeReconnectLink(links, path.accountId, path.linkId, new Date());
    return noContent();
  },
);

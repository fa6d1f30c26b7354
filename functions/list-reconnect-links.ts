/**
 * GET /instagram-accounts/{accountId}/reconnect-links: the account's links and their status,
 * for its owner or a developer; never a secret nor its hash.
 */
import { accountPath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { requireAccess } from '#tokens/access';
import { createAccountRepository } from '#tokens/accounts';
import { createDeveloperRoleRepository } from '#tokens/developer-roles';
import { listReconnectLinks } from '#tokens/reconnect-link-flows';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'list-reconnect-links'>);
const db = documentClient();
const access = {
  ...createAccountRepository(db, config.TABLE_NAME),
  ...createDeveloperRoleRepository(db, config.TABLE_NAME),
};
const links = createReconnectLinkStore(db, config.TABLE_NAME);

export const handler = httpHandler({ auth: 'jwt', path: accountPath }, async ({ caller, path }) => {
  await requireAccess(access, path.accountId, caller);
  return json(200, { links: await listReconnectLinks(links, path.accountId, new Date()) });
});

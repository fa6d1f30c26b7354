/**
 * POST /instagram/data-deletion: Meta asks, for an Instagram user, that everything about their
 * account be deleted. It is deleted as by DELETE /service/instagram-accounts/{id}, and Meta
 * gets the URL of a status page and its confirmation code. An unknown user gets the same
 * answer: Meta learns nothing of which accounts exist. A request not signed with the app secret
 * is a 400 and changes nothing.
 */
import { signedRequestForm } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { signedRequestOf } from '#api/signed-request';
import { documentClient } from '#platform/dynamodb';
import { envString, envUrl, readConfig } from '#platform/config';
import { appCredentialsReader } from '#platform/instagram';
import { json } from '#platform/http/responses';
import { accountId } from '#tokens/account';
import { createAccountConnections } from '#tokens/account-connections';
import { disconnectAccount } from '#tokens/connect';
import { createDataDeletions } from '#tokens/data-deletions';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
  INSTAGRAM_APP_SECRET_ID: envString(),
  API_URL: envUrl(),
} satisfies ConfigShapeOf<'instagram-data-deletion'>);
const accounts = createAccountConnections(documentClient(), config.TABLE_NAME);
const deletions = createDataDeletions(documentClient(), config.TABLE_NAME);
const credentials = appCredentialsReader(config.INSTAGRAM_APP_SECRET_ID);
const apiUrl = config.API_URL.replace(/\/+$/, '');

export const handler = httpHandler(
  { auth: 'none', body: signedRequestForm, bodyFormat: 'form' },
  async ({ body }) => {
    const { userId } = await signedRequestOf(body.signed_request, credentials);
    const id = accountId.safeParse(userId);
    if (id.success) await disconnectAccount(accounts, id.data);
    const code = await deletions.record(new Date());
    return json(200, {
      url: `${apiUrl}/instagram/data-deletion/${code}`,
      confirmation_code: code,
    });
  },
);

/**
 * PUT /service/instagram-accounts/{accountId}: the widget service connects an account with its
 * current token. Another token is the next generation, watched from now on; the same token
 * changes nothing (see #tokens/connect).
 */
import { accountPath } from '#api/schemas';
import { serviceAccountBody } from '#api/service-schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { createAccountConnections } from '#tokens/account-connections';
import { createAccountRepository } from '#tokens/accounts';
import { connectAccount } from '#tokens/connect';
import { now } from '#platform/clock';
import { tokenScheduleEnvironment, tokenScheduleFrom } from '#tokens/token-schedule';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
  ...tokenScheduleEnvironment,
} satisfies ConfigShapeOf<'put-service-instagram-account'>);
const schedule = tokenScheduleFrom(config);
const store = {
  ...createAccountRepository(documentClient(), config.TABLE_NAME, schedule),
  ...createAccountConnections(documentClient(), config.TABLE_NAME, schedule),
};

export const handler = httpHandler(
  { auth: 'service', path: accountPath, body: serviceAccountBody },
  async ({ path, body }) => json(200, await connectAccount(store, path.accountId, body, now())),
);

/**
 * The real dependencies of the refresh and reconnect flows, from the environment, built once
 * per cold start: the table, Instagram (app credentials from Secrets Manager), the bus.
 */
import { documentClient } from '#platform/dynamodb';
import {
  createInstagramClient,
  instagramConfigFrom,
  instagramEnvironment,
} from '#platform/instagram';
import { envString, readConfig } from '#platform/config';
import { createEventPublisher } from './event-publisher';
import type { AccessReader } from './access';
import { createAccountRepository } from './accounts';
import { createDeveloperRoleRepository } from './developer-roles';
import { createRefreshLease } from './refresh-lease';
import type { TokenFlowDependencies } from './new-token';
import type { ConfigShapeOf } from '#environment/variables';
import { now } from '#platform/clock';
import { tokenScheduleEnvironment, tokenScheduleFrom } from './token-schedule';

export function tokenFlowDependencies(): TokenFlowDependencies & {
  store: TokenFlowDependencies['store'] & AccessReader;
} {
  const config = readConfig({
    TABLE_NAME: envString(),
    EVENT_BUS_NAME: envString(),
    ...instagramEnvironment,
    ...tokenScheduleEnvironment,
  } satisfies ConfigShapeOf<'refresh-instagram-token' | 'reconnect-instagram-token'>);
  const events = createEventPublisher({ busName: config.EVENT_BUS_NAME });
  return {
    store: {
      ...createAccountRepository(documentClient(), config.TABLE_NAME, tokenScheduleFrom(config)),
      ...createDeveloperRoleRepository(documentClient(), config.TABLE_NAME),
      ...createRefreshLease(documentClient(), config.TABLE_NAME),
    },
    instagram: createInstagramClient(instagramConfigFrom(config)),
    publishRefreshed: (detail) => events.publishTokenRefreshed(detail),
    now,
  };
}

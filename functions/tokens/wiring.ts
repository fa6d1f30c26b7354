/**
 * The real dependencies of the refresh and reconnect flows (and a reconnect link's callback),
 * from the environment, built once per cold start: the table, Instagram (app credentials from
 * Secrets Manager), the bus.
 */
import { documentClient } from '#platform/dynamodb';
import {
  createInstagramClient,
  instagramConfigFrom,
  instagramEnvironment,
} from '#platform/instagram';
import { envString, envUrl, readConfig } from '#platform/config';
import { createProfileRepository } from '#people/profiles';
import { createEventPublisher } from './event-publisher';
import type { AccessReader } from './access';
import { createAccountRepository } from './accounts';
import { createDeveloperRoleRepository } from './developer-roles';
import { createRefreshLease } from './refresh-lease';
import type { TokenFlowDependencies } from './new-token';
import type { LinkFinishDependencies } from './reconnect-link-flows';
import { createReconnectLinkStore } from './reconnect-link-store';
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

/**
 * A reconnect link's callback: the token flow's dependencies with Instagram sending the client
 * back to the link redirect URI (INSTAGRAM_LINK_REDIRECT_URI), the link items and the profiles
 * (the creator's name).
 */
export function linkFinishDependencies(): LinkFinishDependencies {
  const config = readConfig({
    TABLE_NAME: envString(),
    EVENT_BUS_NAME: envString(),
    INSTAGRAM_GRAPH_URL: instagramEnvironment.INSTAGRAM_GRAPH_URL,
    INSTAGRAM_API_URL: instagramEnvironment.INSTAGRAM_API_URL,
    INSTAGRAM_AUTHORIZE_URL: instagramEnvironment.INSTAGRAM_AUTHORIZE_URL,
    INSTAGRAM_LINK_REDIRECT_URI: envUrl(),
    INSTAGRAM_APP_SECRET_ID: envString(),
    ...tokenScheduleEnvironment,
  } satisfies ConfigShapeOf<'reconnect-link-callback'>);
  const events = createEventPublisher({ busName: config.EVENT_BUS_NAME });
  const db = documentClient();
  return {
    store: {
      ...createAccountRepository(db, config.TABLE_NAME, tokenScheduleFrom(config)),
      ...createRefreshLease(db, config.TABLE_NAME),
    },
    instagram: createInstagramClient(
      instagramConfigFrom({
        ...config,
        INSTAGRAM_REDIRECT_URI: config.INSTAGRAM_LINK_REDIRECT_URI,
      }),
    ),
    publishRefreshed: (detail) => events.publishTokenRefreshed(detail),
    now,
    links: createReconnectLinkStore(db, config.TABLE_NAME),
    profiles: createProfileRepository(db, config.TABLE_NAME),
  };
}

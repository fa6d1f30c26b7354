/**
 * The real dependencies of the refresh and reconnect flows, from the environment, built once
 * per cold start: the table, Instagram (app credentials from Secrets Manager), the bus.
 */
import { documentClient } from './clients/dynamodb';
import {
  createInstagramClient,
  instagramConfigFrom,
  instagramEnvironment,
} from './clients/instagram';
import { envString, readConfig } from './config';
import { createStore } from './store';
import { createEventPublisher } from './clients/eventbridge';
import type { TokenFlowDependencies } from './token-refresh';

export function tokenFlowDependencies(): TokenFlowDependencies {
  const config = readConfig({
    TABLE_NAME: envString(),
    EVENT_BUS_NAME: envString(),
    ...instagramEnvironment,
  });
  const events = createEventPublisher({ busName: config.EVENT_BUS_NAME });
  return {
    store: createStore(documentClient(), config.TABLE_NAME),
    instagram: createInstagramClient(instagramConfigFrom(config)),
    publishRefreshed: (detail) => events.publishTokenRefreshed(detail),
    now: () => new Date(),
  };
}

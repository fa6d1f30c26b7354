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
import { createStore } from '#storage/store';
import { createEventPublisher } from '#platform/eventbridge';
import type { TokenFlowDependencies } from './refresh';

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

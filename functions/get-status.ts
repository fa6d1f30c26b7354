/**
 * GET /status (no login): whether tokenwatch is in a storm, for the frontend's banner: `{"incident":
 * null}`, or when and what, in words a customer can read (it is not their fault).
 */
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { incidentOf } from '#storm/storm-guard';
import { createStormStore } from '#storm/storm-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({ TABLE_NAME: envString() } satisfies ConfigShapeOf<'get-status'>);
const store = createStormStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'none' }, async () => {
  const incident = incidentOf(await store.getStormState());
  return json(200, { incident: incident && { since: incident.since, summary: incident.summary } });
});

/**
 * POST /service/storm `{"action": "release" | "discard"}`: the widget service ends the storm.
 * `release`: the held notices go out (the digest flush, one email per recipient); `discard`: they
 * are dropped, recorded as such. Automatic refresh resumes with its next run either way. No storm
 * on is a 409, and changes nothing.
 */
import { httpHandler } from '#api/handler';
import { stormActionBody } from '#api/service-schemas';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { logger } from '#platform/observability';
import { now } from '#platform/clock';
import { endStorm, stormReport } from '#storm/storm-guard';
import { createStormStore } from '#storm/storm-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({ TABLE_NAME: envString() } satisfies ConfigShapeOf<'end-service-storm'>);
const store = createStormStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service', body: stormActionBody }, async ({ body }) => {
  const state = await endStorm({ store, clock: now, log: logger }, body.action);
  return json(200, stormReport(state, await store.countHeldNotices()));
});

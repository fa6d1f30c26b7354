/**
 * GET /service/storm: the storm guard's state for the widget service: whether a storm is on,
 * since when and why (by cause), how many notices it holds, and how the last one ended.
 */
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { json } from '#platform/http/responses';
import { stormReport } from '#storm/storm-guard';
import { createStormStore } from '#storm/storm-store';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({ TABLE_NAME: envString() } satisfies ConfigShapeOf<'get-service-storm'>);
const store = createStormStore(documentClient(), config.TABLE_NAME);

export const handler = httpHandler({ auth: 'service' }, async () =>
  json(200, stormReport(await store.getStormState(), await store.countHeldNotices())),
);

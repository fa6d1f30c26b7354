/**
 * record-email-feedback: reads SES's bounces and complaints (the default bus's feedback rule
 * routes them to its queue) and records what they say about each address: a hard bounce or a
 * complaint suppresses it, a soft bounce is counted (#notifications/email-feedback,
 * #people/suppression). Answers with partial batch responses, so only a message that is no such
 * event, or could not be recorded, comes back, and after the last receive goes to the DLQ.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { envString, readConfig } from '#platform/config';
import { documentClient } from '#platform/dynamodb';
import { metrics, MetricUnit } from '#platform/metrics';
import { logger } from '#platform/observability';
import { createSuppressionStore } from '#people/suppression-store';
import { recordFeedbackFromQueue } from '#notifications/email-feedback';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'record-email-feedback'>);
const store = createSuppressionStore(documentClient(), config.TABLE_NAME);

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  if (context) logger.addContext(context);
  try {
    const { batchItemFailures, totals } = await recordFeedbackFromQueue(event.Records, {
      store,
      log: logger,
    });
    // Addresses newly suppressed, and soft bounces counted: SES's own reputation metrics give the
    // rates; these say what tokenwatch did about them.
    metrics.addMetric('EmailAddressesBounced', MetricUnit.Count, totals['hard-bounce']);
    metrics.addMetric('EmailAddressesComplained', MetricUnit.Count, totals.complaint);
    metrics.addMetric('SoftBouncesCounted', MetricUnit.Count, totals['soft-bounce']);
    metrics.addMetric('EmailFeedbackDuplicates', MetricUnit.Count, totals.duplicates);
    metrics.addMetric('PoisonEmailFeedback', MetricUnit.Count, totals.poison);
    logger.info('Email feedback batch finished', { totals, retried: batchItemFailures.length });
    return { batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
};

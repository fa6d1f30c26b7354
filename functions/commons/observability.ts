/**
 * One logger and one metrics sink per cold start (Powertools: structured JSON logs, and
 * CloudWatch metrics through the embedded metric format, so no API call per metric).
 *
 * Nothing here may ever be handed an access token: the store keeps it to itself, and the
 * secrets tests scan every line these write.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const serviceName = 'tokenwatch';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: 'Tokenwatch', serviceName });
export { MetricUnit };

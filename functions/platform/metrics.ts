/**
 * One metrics sink per cold start, for the functions that count what they did (the check and
 * the notifier): CloudWatch metrics through the embedded metric format, so no API call per
 * metric. A module of its own because creating it is a side effect esbuild must keep: the API
 * routes, which publish no metrics, would otherwise ship and load it for nothing (10 KiB).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { metricsNamespace, serviceName } from './metric-names';

export const metrics = new Metrics({ namespace: metricsNamespace, serviceName });
export { MetricUnit };

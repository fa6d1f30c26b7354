/** A metric one of the functions emits, as the stack's alarms read it. */
import type { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { metricsNamespace, serviceName } from '../functions/platform/metric-names';

export const tokenwatchMetric = (metricName: string, period: Duration) =>
  new Metric({
    namespace: metricsNamespace,
    metricName,
    dimensionsMap: { service: serviceName },
    statistic: 'Sum',
    period,
  });

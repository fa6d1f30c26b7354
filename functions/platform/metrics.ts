/**
 * One metrics sink per cold start, for the functions that count what they did (the check and
 * the notifier): CloudWatch metrics through the embedded metric format, so no API call per
 * metric. A module of its own because creating it is a side effect esbuild must keep: the API
 * routes, which publish no metrics, would otherwise ship and load it for nothing (10 KiB).
 *
 * A count of 0 is not sent. CloudWatch bills a custom metric for every hour it receives data,
 * zero or not, and most counters here (failures, poison messages, emails sent twice, storms)
 * are 0 almost every run: sent every run, the 34 of them cost about $10 a month whatever the
 * fleet, a fifth of the whole bill at a million accounts (bench/README.md, cost). Every alarm on
 * a custom metric reads no data as no trouble (lib/alarm-metrics.ts `onFirst`), so nothing is
 * lost but a zero on the dashboard's graphs, which show a gap instead.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { metricsNamespace, serviceName } from './metric-names';

class CountsThatHappened extends Metrics {
  override addMetric(...args: Parameters<Metrics['addMetric']>): this {
    const [, unit, value] = args;
    if (unit === MetricUnit.Count && value === 0) return this;
    return super.addMetric(...args);
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) return super.publishStoredMetrics();
    // What Powertools would do, but its warning that nothing was counted: log bytes are billed too.
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

export const metrics = new CountsThatHappened({ namespace: metricsNamespace, serviceName });
export { MetricUnit };

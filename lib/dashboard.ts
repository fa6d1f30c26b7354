/**
 * One CloudWatch dashboard for the operator: every alarm's state first, then the pipeline from
 * due tokens to sent emails (due, published, sent, held, failed), the automatic refresh, SES
 * bounces and complaints, the API's latency and errors, the queues, each function's errors and
 * throttles, and the error lines of every function's log (Logs Insights). The graphs read the very metrics the
 * alarms judge (lib/alarm-metrics.ts); the dashboard's name is CloudFormation's, so stages fit
 * side by side in one account.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  AlarmStatusWidgetSortBy,
  CfnDashboard,
  Dashboard as CloudWatchDashboard,
  GraphWidget,
  LogQueryWidget,
  Metric,
  Stats,
  TextWidget,
  type Alarm,
  type GraphWidgetProps,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import {
  apiServerErrorRate,
  oldestMessageAge,
  refreshFailurePercent,
  sesReputation,
} from './alarm-metrics';
import type { MonitoredResources } from './alarms';
import {
  apiServerErrorThreshold,
  refreshFailureThreshold,
  sesBounceRateThreshold,
  sesComplaintRateThreshold,
} from './alarm-metrics';
import { tokenwatchMetric } from './metrics';

export interface DashboardProps extends MonitoredResources {
  /** Shown first, by state. */
  readonly alarms: readonly Alarm[];
}

/** The pipeline's graphs add up each quarter of an hour: a check's run, and a little more. */
const quarter = Duration.minutes(15);
const count = (name: string, label: string) => tokenwatchMetric(name, quarter).with({ label });

const graph = (
  title: string,
  left: IMetric[],
  extra: Omit<GraphWidgetProps, 'title' | 'left'> = {},
) => new GraphWidget({ title, left, width: 8, height: 6, ...extra });

export class Dashboard extends Construct {
  readonly dashboard: CloudWatchDashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.dashboard = new CloudWatchDashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    // CloudFormation took Tags on a dashboard only lately: cfn-lint 1.51 still refuses them
    // (E3002). A dashboard's tags buy nothing, so it carries none.
    (this.dashboard.node.defaultChild as CfnDashboard).addPropertyDeletionOverride('Tags');
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '**tokenwatch.** Each alarm names its README Runbook entry: what it means, how to look, what to do, when to redrive a dead-letter queue (`npm run redrive`).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Alarms (latest change first)',
        alarms: [...props.alarms],
        sortBy: AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        width: 24,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(...this.pipeline());
    this.dashboard.addWidgets(...this.refreshAndSes(props));
    this.dashboard.addWidgets(...this.api(props));
    this.dashboard.addWidgets(...this.queuesAndFunctions(props));
    // Logs Insights reads at most 50 log groups in one query.
    const logGroups = props.functions.map((fn) => fn.logGroup.logGroupName);
    for (let start = 0; start < logGroups.length; start += 50) {
      this.dashboard.addWidgets(
        new LogQueryWidget({
          title: 'Error lines of every function (latest 50)',
          logGroupNames: logGroups.slice(start, start + 50),
          queryLines: [
            'fields @timestamp, @log, message, error, errorType, errorMessage',
            'filter level = "ERROR" or (type = "platform.report" and record.status != "success")',
            'sort @timestamp desc',
            'limit 50',
          ],
          width: 24,
          height: 8,
        }),
      );
    }

    new CfnOutput(this, 'DashboardName', {
      description: "The operator's dashboard (CloudWatch console, Dashboards)",
      value: this.dashboard.dashboardName,
    });
  }

  /** Due → published → sent, and what was held, waited or failed on the way. */
  private pipeline(): IWidget[] {
    return [
      graph('Due and published (each 15 min)', [
        count('DueTokens', 'due'),
        count('ExpiredEventsPublished', 'expired published'),
        count('ExpiringEventsPublished', 'warnings published'),
        count('ReminderEventsPublished', 'reminders published'),
        count('ExpiredEventsFailed', 'expired refused by the bus'),
      ]),
      graph('Sent and failed (each 15 min)', [
        count('ExpiredTokenEmailsSent', 'emails sent'),
        count('DigestEmailsSent', 'digests sent'),
        count('ExpiredTokenEmailsFailed', 'emails failed'),
        count('DigestEmailsFailed', 'digests failed'),
        count('ExpiredTokenEmailsSentTwice', 'sent twice'),
      ]),
      graph('Held and waiting (each 15 min)', [
        count('NoticesHeldByStorm', 'held by a storm'),
        count('NoticesWaitingForDigest', 'waiting for a digest'),
        count('HeldNoticesDiscarded', 'held, discarded'),
        count('DigestNoticesDropped', 'dropped (no longer true)'),
      ]),
    ];
  }

  private refreshAndSes(props: DashboardProps): IWidget[] {
    const hour = Duration.hours(1);
    const refresh = props.refresh
      ? [
          graph(
            'Automatic refresh (each hour)',
            [
              tokenwatchMetric('RefreshRequestsQueued', hour).with({ label: 'queued' }),
              tokenwatchMetric('TokensRefreshed', hour).with({ label: 'refreshed' }),
              tokenwatchMetric('TokensRejectedOnRefresh', hour).with({ label: 'rejected' }),
              tokenwatchMetric('RefreshesRetriedLater', hour).with({ label: 'failed, retried' }),
              tokenwatchMetric('RefreshesGivenUp', hour).with({ label: 'failed, given up' }),
              tokenwatchMetric('RefreshesPausedByStorm', hour).with({ label: 'paused by a storm' }),
            ],
            {
              right: [refreshFailurePercent()],
              rightAnnotations: [
                { value: refreshFailureThreshold, label: 'alarm', color: '#d62728' },
              ],
              rightYAxis: { min: 0, max: 100, label: '%', showUnits: false },
            },
          ),
        ]
      : [];
    const ses = (name: string) =>
      new Metric({ namespace: 'AWS/SES', metricName: name, statistic: Stats.SUM, period: hour });
    return [
      ...refresh,
      graph(
        'SES: sends, bounces, complaints (the account, each hour)',
        [ses('Send'), ses('Delivery'), ses('Bounce'), ses('Complaint')],
        {
          right: [
            sesReputation('Reputation.BounceRate').with({ label: 'bounce rate' }),
            sesReputation('Reputation.ComplaintRate').with({ label: 'complaint rate' }),
          ],
          rightAnnotations: [
            { value: sesBounceRateThreshold, label: 'bounce alarm', color: '#d62728' },
            { value: sesComplaintRateThreshold, label: 'complaint alarm', color: '#ff7f0e' },
          ],
          rightYAxis: { min: 0, showUnits: false },
        },
      ),
    ];
  }

  private api({ api }: DashboardProps): IWidget[] {
    const fiveMinutes = Duration.minutes(5);
    return [
      graph('API latency (ms)', [
        api.metricLatency({ statistic: Stats.p(50), period: fiveMinutes, label: 'p50' }),
        api.metricLatency({ statistic: Stats.p(99), period: fiveMinutes, label: 'p99' }),
        api.metricIntegrationLatency({
          statistic: Stats.p(99),
          period: fiveMinutes,
          label: 'p99 in the functions',
        }),
      ]),
      graph(
        'API requests and errors (each 5 min)',
        [
          api.metricCount({ period: fiveMinutes, label: 'requests' }),
          api.metricClientError({ period: fiveMinutes, label: '4xx' }),
          api.metricServerError({ period: fiveMinutes, label: '5xx' }),
        ],
        {
          right: [apiServerErrorRate(api)],
          rightAnnotations: [{ value: apiServerErrorThreshold, label: 'alarm', color: '#d62728' }],
          rightYAxis: { min: 0, label: '%', showUnits: false },
        },
      ),
    ];
  }

  private queuesAndFunctions(props: DashboardProps): IWidget[] {
    const queues = [
      oldestMessageAge(props.notificationQueue).with({ label: 'notification queue' }),
      ...(props.refresh
        ? [oldestMessageAge(props.refresh.queue).with({ label: 'refresh queue' })]
        : []),
    ];
    const deadLetters = [
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        label: 'notification dead letters',
        statistic: Stats.MAXIMUM,
      }),
      props.undeliveredEvents.metricApproximateNumberOfMessagesVisible({
        label: 'undelivered events',
        statistic: Stats.MAXIMUM,
      }),
      ...(props.refresh
        ? [
            props.refresh.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              label: 'refresh dead letters',
              statistic: Stats.MAXIMUM,
            }),
          ]
        : []),
    ];
    const label = (fn: { node: { path: string } }) => fn.node.path.split('/').slice(1).join('/');
    const perFunction = (metric: 'metricErrors' | 'metricThrottles') =>
      props.functions.map((fn) =>
        fn[metric]({ period: Duration.minutes(5), statistic: Stats.SUM, label: label(fn) }),
      );
    return [
      graph('Queues: oldest message (s) and dead letters', queues, { right: deadLetters }),
      graph('Function errors (each 5 min)', perFunction('metricErrors')),
      graph('Function throttles (each 5 min)', perFunction('metricThrottles')),
    ];
  }
}

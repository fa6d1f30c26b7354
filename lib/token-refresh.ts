/**
 * The automatic refresh: an EventBridge Scheduler schedule (default every hour) runs
 * refresh-due-tokens, which reads the refresh index and queues each token due for refresh on an
 * encrypted, TLS-only queue (with a dead-letter queue after 5 receives); auto-refresh-token reads
 * it five at a time and refreshes each token with Instagram, at most `instagramMaxRefreshRate`
 * calls a second for the whole fleet (pacing slots in the table). The dead-letter queue is
 * exposed for lib/alarms.ts to watch.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StormSettings } from '../functions/storm/storm-guard';
import { stormVariables } from './storm';
import { declaredEnvironment } from '../functions/environment/variables';
import { refreshIndex } from '../functions/storage/table';
import type { TokenSchedule } from '../functions/tokens/token-schedule';
import type { InstagramEndpoints } from './api';
import { grantTableActions } from './function-access';
import { maxReceiveCount } from './notifications';
import { tokenScheduleVariables } from './token-schedule';
import { TokenwatchFunction } from './tokenwatch-function';
import { refresherBatchSize, refresherConcurrency } from './refresher-sizing';
import { rateMinutes } from './schedule-interval';

export { refresherBatchSize, refresherConcurrency };

export interface TokenRefreshProps {
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** `{"appId": "...", "appSecret": "..."}` of the Instagram app. */
  readonly instagramAppSecret: ISecret;
  readonly instagram: InstagramEndpoints;
  /**
   * When tokens are refreshed and warned about: a refreshed token is filed afresh.
   * @default 14 days; warnings 7 and 1 days before expiry
   */
  readonly tokenSchedule?: TokenSchedule;
  /** How much trouble in an hour is a storm (which pauses the refresh). @default 20 and 10 % */
  readonly storm?: StormSettings;
  /** Calls per second to Instagram's refresh endpoint for the whole fleet. @default 5 */
  readonly instagramMaxRefreshRate?: number;
  /** An EventBridge Scheduler expression for the refresh job. @default 'rate(1 hour)' */
  readonly schedule?: string;
  /**
   * Days the job looks back, to catch refreshes that fell due while it could not run; 1 to 60.
   * @default 7
   */
  readonly lookbackDays?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** The refresher's timeout: a batch of paced refreshes, each one Instagram call of 4 s at most. */
export const refresherTimeout = Duration.seconds(60);

/**
 * How often the schedule runs the job, in minutes, for the job's `maxPerRun`: read from a
 * `rate()` expression; 60 for any other (a cron() is not one interval).
 */
export function refreshIntervalMinutes(schedule: string): number {
  return rateMinutes(schedule) ?? 60;
}

/** The construct's options, checked: a value the functions could not run with fails the synth. */
function checkedOptions(props: TokenRefreshProps) {
  const rate = props.instagramMaxRefreshRate ?? 5;
  if (!(rate > 0 && Number.isFinite(rate))) {
    throw new Error(`instagramMaxRefreshRate: ${rate} is not a positive number`);
  }
  const concurrency = refresherConcurrency(rate);
  // Every refresher waits its turn for each call: at the slowest, the processes' whole batches
  // one after another. That must leave half the timeout for Instagram's answers, or batches
  // time out, come back and end in the dead-letter queue without anything being wrong.
  const waitSeconds = (refresherBatchSize * concurrency) / rate;
  const timeoutSeconds = refresherTimeout.toSeconds();
  if (waitSeconds > timeoutSeconds / 2) {
    const slowest = Math.ceil(((refresherBatchSize * concurrency) / (timeoutSeconds / 2)) * 100);
    throw new Error(
      `instagramMaxRefreshRate: ${rate} is too slow for the refresher: ${concurrency} processes of ${refresherBatchSize} requests would wait ${Math.round(waitSeconds)} s for their turns, more than half its ${timeoutSeconds} s timeout; give at least ${slowest / 100}`,
    );
  }
  const lookbackDays = props.lookbackDays ?? 7;
  if (!Number.isInteger(lookbackDays) || lookbackDays < 1 || lookbackDays > 60) {
    throw new Error(`lookbackDays: ${lookbackDays} is not a whole number of days from 1 to 60`);
  }
  const schedule = props.schedule ?? 'rate(1 hour)';
  if (!Token.isUnresolved(schedule) && !/^(rate|cron|at)\(.+\)$/.test(schedule)) {
    throw new Error(`refreshSchedule: ${schedule} is not a rate(), cron() or at() expression`);
  }
  return { rate, concurrency, lookbackDays, schedule, timeoutSeconds };
}

export class TokenRefresh extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** refresh-due-tokens: queues the tokens due for refresh. */
  readonly job: TokenwatchFunction;
  /** auto-refresh-token: refreshes them with Instagram. */
  readonly refresher: TokenwatchFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: TokenRefreshProps) {
    super(scope, id);
    const { rate, concurrency, lookbackDays, schedule, timeoutSeconds } = checkedOptions(props);
    const tokenSchedule = tokenScheduleVariables(props.tokenSchedule);

    const secureQueue = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...secureQueue,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...secureQueue,
      // Lambda's advice: six times the function's timeout, so a batch still being worked on is
      // not handed to a second refresher.
      visibilityTimeout: Duration.seconds(timeoutSeconds * 6),
      // The job writes nothing: a request not taken within a day has been queued again by the
      // later runs, so keeping it longer only piles up duplicates.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.job = new TokenwatchFunction(this, 'Job', {
      entry: 'refresh-due-tokens',
      description: 'tokenwatch: queues every Instagram token due for an automatic refresh',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      environment: declaredEnvironment('refresh-due-tokens', {
        TABLE_NAME: props.table.tableName,
        REFRESH_QUEUE_URL: this.queue.queueUrl,
        REFRESH_LOOKBACK_DAYS: String(lookbackDays),
        INSTAGRAM_MAX_REFRESH_RATE: String(rate),
        // With the rate, how many requests one run queues: what the refresher can do before the
        // next run.
        REFRESH_INTERVAL_MINUTES: String(refreshIntervalMinutes(schedule)),
      }),
    });
    // GetItem: whether a storm pauses the refresh.
    grantTableActions(this.job, props.table, {
      table: ['dynamodb:GetItem'],
      indexes: { [refreshIndex.name]: ['dynamodb:Query'] },
    });
    // SendMessageBatch is authorized as sqs:SendMessage; the job needs nothing else of the queue.
    this.job.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    // A failed run is not retried by Lambda: the next scheduled run reads the same buckets.
    this.job.configureAsyncInvoke({ retryAttempts: 0 });

    this.refresher = new TokenwatchFunction(this, 'Refresher', {
      entry: 'auto-refresh-token',
      description: 'tokenwatch: refreshes Instagram tokens before they expire, at the fleet pace',
      timeout: refresherTimeout,
      // Memory as the route functions (the default): the same token flow as the refresh route.
      logRetention: props.logRetention,
      environment: declaredEnvironment('auto-refresh-token', {
        TABLE_NAME: props.table.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        INSTAGRAM_APP_SECRET_ID: props.instagramAppSecret.secretArn,
        INSTAGRAM_GRAPH_URL: props.instagram.graphUrl,
        INSTAGRAM_API_URL: props.instagram.apiUrl,
        INSTAGRAM_AUTHORIZE_URL: props.instagram.authorizeUrl,
        INSTAGRAM_REDIRECT_URI: props.instagram.redirectUri,
        INSTAGRAM_MAX_REFRESH_RATE: String(rate),
        ...tokenSchedule,
        ...stormVariables(props.storm),
      }),
    });
    // GetItem and UpdateItem: the token flow (account, lease, next generation, refresh filing);
    // PutItem: the fleet's pacing slots, one conditional write per call to Instagram;
    // DescribeTable: the storm guard's estimate of the fleet's size (the due index's count).
    grantTableActions(this.refresher, props.table, {
      table: [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:PutItem',
        'dynamodb:DescribeTable',
      ],
    });
    props.instagramAppSecret.grantRead(this.refresher);
    props.bus.grantPutEventsTo(this.refresher);
    this.refresher.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: refresherBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: concurrency,
      }),
    );

    // Its own role, so that its one finding can be acknowledged on it and nowhere else.
    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.job.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason:
        'Versions and aliases of the one refresh job function (added by the Lambda target); the schedule can invoke nothing else.',
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'tokenwatch: runs the automatic refresh job',
      schedule: ScheduleExpression.expression(schedule),
      target: new LambdaInvoke(this.job, {
        role: schedulerRole,
        retryAttempts: 2,
        // An invocation that could not start within 5 minutes is dropped, not piled up: the
        // next run reads the same tokens, still due.
        maxEventAge: Duration.minutes(5),
      }),
    });
  }
}

/**
 * Every alarm of the stack, and the one topic they go to. The other constructs expose what is
 * worth watching (a function, a queue, the API); what counts as trouble, and who hears of it, is
 * here. Each alarm's description ends with the README Runbook entry that says what to do.
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  onFirst,
  type AlarmOptions,
  apiServerErrorThreshold,
  notificationQueueMaxAge,
  refreshFailureThreshold,
  sesBounceRateThreshold,
  sesComplaintRateThreshold,
  formerOwner,
  isFormerlyOwned,
  messagesWaitingIn,
  apiMinimumRequests,
  apiServerErrorRate,
  errorsAndThrottles,
  oldestMessageAge,
  refreshFailurePercent,
  refreshMinimumCalls,
  runsPer,
  scheduleInterval,
  sesReputation,
  type ScheduledFunction,
} from './alarm-metrics';
import { createAlarmTopic } from './alarm-topic';
import { keepLogicalId } from './legacy-logical-ids';
import { tokenwatchMetric } from './metrics';
import { refreshIntervalMinutes } from './token-refresh';

export type { ScheduledFunction } from './alarm-metrics';

/** What the alarms (and the dashboard) watch. */
export interface MonitoredResources {
  /** The function the schedule runs to find expired tokens, and its schedule. */
  readonly expiryCheck: ScheduledFunction;
  /** The function the digest schedule runs (digests, and the notices a released storm held). */
  readonly digestFlush: ScheduledFunction;
  /** Where expired-token events wait for the notifier. */
  readonly notificationQueue: IQueue;
  /** Where expired-token messages end up after the notifier failed them `maxReceiveCount` times. */
  readonly deadLetterQueue: IQueue;
  /** Where the rule puts expired-token events it could not deliver to the notification queue. */
  readonly undeliveredEvents: IQueue;
  /** The automatic refresh. @default none: it is off */
  readonly refresh?: {
    /** The job that queues the tokens due, and its schedule. */
    readonly job: ScheduledFunction;
    /** Where the job's requests wait for the refresher. */
    readonly queue: IQueue;
    /** Where refresh requests end up after the refresher failed them `maxReceiveCount` times. */
    readonly deadLetterQueue: IQueue;
  };
  readonly api: IHttpApi;
  /** Where SES feedback events end up after the recorder failed them. @default none */
  readonly emailFeedbackDeadLetterQueue?: IQueue;
  /** Every function of the stack: each gets an alarm on its errors and throttles. */
  readonly functions: readonly LambdaFunction[];
}

export interface AlarmsProps extends MonitoredResources {
  /** Receives before a message reaches a dead-letter queue, for the alarms' descriptions. */
  readonly maxReceiveCount: number;
  /** Where alarms are sent. @default none: alarms only change state, and no topic is created */
  readonly alarmEmail?: string;
}

export class Alarms extends Construct {
  /** In alarm when the check failed in two periods of one hour in a row. */
  readonly checkFailing: Alarm;
  /**
   * In alarm when, in two periods of one hour in a row, the bus refused expired-token events or
   * marks failed: the check itself ran, so `checkFailing` stays quiet, yet nobody is emailed.
   */
  readonly checkCannotPublish: Alarm;
  /**
   * In alarm when the check did not run at all in two of its intervals (a broken schedule or
   * role, dropped or throttled invocations). Set when its schedule is a `rate()` of a day at most.
   */
  readonly checkNotRunning?: Alarm;
  readonly deadLetterQueueNotEmpty: Alarm;
  readonly undeliveredEventsNotEmpty: Alarm;
  /** In alarm when a message waited in the notification queue for an hour. */
  readonly notificationQueueAge: Alarm;
  /** Exactly once is the promise: this fires the first time it is broken. */
  readonly emailsSentTwice: Alarm;
  /**
   * A storm: declared, and every hour until the widget service ends it (the flush reports it
   * hourly, and the alarm falls back to OK between reports, so each report notifies again).
   */
  readonly storm: Alarm;
  /** In alarm when the digest flush failed in three runs of 5 minutes in a row. */
  readonly digestFlushFailing: Alarm;
  /** As `checkNotRunning`, for the digest flush. */
  readonly digestFlushNotRunning?: Alarm;
  /** Set when the automatic refresh is on. */
  readonly refreshDeadLetterQueueNotEmpty?: Alarm;
  /** As `checkNotRunning`, for the refresh job; with the automatic refresh. */
  readonly refreshJobNotRunning?: Alarm;
  /** In alarm when a refresh request waited two of the job's intervals; with the refresh. */
  readonly refreshQueueAge?: Alarm;
  /** In alarm when a fifth of an hour's refresh calls failed; with the refresh. */
  readonly refreshFailureRatio?: Alarm;
  /** In alarm when 5 % of 5 minutes' requests (20 at least) were answered with a 5xx. */
  readonly apiServerErrors: Alarm;
  readonly sesBounceRate: Alarm;
  readonly sesComplaintRate: Alarm;
  /**
   * One per function (errors and throttles together), but the check's and the flush's, whose
   * failures have their alarms above and whose throttled runs are runs that did not happen.
   */
  readonly functionFailing: ReadonlyMap<IFunction, Alarm>;
  /** Every alarm above. */
  readonly all: readonly Alarm[];
  /** Set when the stack records SES feedback. */
  readonly emailFeedbackDeadLetters?: Alarm;
  /** Set when an alarm email was given. */
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1) {
      throw new Error(`maxReceiveCount: ${props.maxReceiveCount} is not a positive integer`);
    }
    const { expiryCheck, digestFlush, refresh } = props;

    this.checkFailing = this.alarm('CheckFailing', {
      description:
        'tokenwatch: the expired-token check failed in two hours in a row; expired tokens may go unnoticed',
      metric: expiryCheck.fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      evaluationPeriods: 2,
    });
    this.checkCannotPublish = this.alarm('CheckCannotPublish', {
      description:
        'tokenwatch: for two hours the bus refused expired-token events, or marking them failed; owners and developers are not being told',
      metric: new MathExpression({
        expression: 'FILL(refused, 0) + FILL(markFailed, 0)',
        usingMetrics: {
          refused: tokenwatchMetric('ExpiredEventsFailed', Duration.hours(1)),
          markFailed: tokenwatchMetric('TokenMarksFailed', Duration.hours(1)),
        },
        period: Duration.hours(1),
      }),
      evaluationPeriods: 2,
    });
    this.checkNotRunning = this.notRunning(
      'CheckNotRunning',
      'the expired-token check',
      expiryCheck,
    );
    this.deadLetterQueueNotEmpty = this.alarm('DeadLetterQueueNotEmpty', {
      description: `tokenwatch: expired-token messages failed ${props.maxReceiveCount} times and wait in the dead-letter queue; emails may be missing`,
      metric: messagesWaitingIn(props.deadLetterQueue),
    });
    this.undeliveredEventsNotEmpty = this.alarm('UndeliveredEventsNotEmpty', {
      description:
        'tokenwatch: expired-token events could not be delivered to the notification queue',
      metric: messagesWaitingIn(props.undeliveredEvents),
    });
    this.notificationQueueAge = this.alarm('NotificationQueueAge', {
      description: `tokenwatch: a notice has waited in the notification queue for ${notificationQueueMaxAge.toHumanString()}: the notifier is not keeping up, or not reading it`,
      metric: oldestMessageAge(props.notificationQueue),
      threshold: notificationQueueMaxAge.toSeconds(),
    });
    // A second email for the same token only happens when a send outlived its claim's lease,
    // which the lease (twice the timeout) should rule out.
    this.emailsSentTwice = this.alarm('EmailsSentTwice', {
      description:
        'tokenwatch: someone got the same expired-token email twice: a send outlived its claim lease (NOTIFICATION_LEASE_SECONDS)',
      metric: tokenwatchMetric('ExpiredTokenEmailsSentTwice', Duration.minutes(5)),
    });
    this.storm = this.alarm('Storm', {
      description:
        'tokenwatch: a storm: many tokens refused or failing to refresh at once (likely trouble on Instagram’s side). Customer emails are held and automatic refresh is paused until the widget service ends it with POST /service/storm (release or discard). GET /service/storm, or the flush’s log line "Storm still on", gives the breakdown by cause',
      metric: new MathExpression({
        expression: 'FILL(declared, 0) + FILL(reported, 0)',
        usingMetrics: {
          declared: tokenwatchMetric('StormsDeclared', Duration.minutes(5)),
          reported: tokenwatchMetric('StormReports', Duration.minutes(5)),
        },
        period: Duration.minutes(5),
      }),
    });
    this.digestFlushFailing = this.alarm('DigestFlushFailing', {
      description:
        'tokenwatch: the digest flush failed in three runs in a row; digests, and the notices a released storm held, are not going out',
      metric: digestFlush.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      evaluationPeriods: 3,
    });
    this.digestFlushNotRunning = this.notRunning(
      'DigestFlushNotRunning',
      'the digest flush',
      digestFlush,
    );
    if (refresh !== undefined) {
      ({
        deadLetters: this.refreshDeadLetterQueueNotEmpty,
        notRunning: this.refreshJobNotRunning,
        queueAge: this.refreshQueueAge,
        failureRatio: this.refreshFailureRatio,
      } = this.refreshAlarms(refresh, props.maxReceiveCount));
    }
    ({
      api: this.apiServerErrors,
      bounces: this.sesBounceRate,
      complaints: this.sesComplaintRate,
      feedbackDeadLetters: this.emailFeedbackDeadLetters,
    } = this.deliveryAlarms(props));
    this.functionFailing = this.functionAlarms(
      props.functions.filter((fn) => fn !== expiryCheck.fn && fn !== digestFlush.fn),
    );

    this.all = this.listed();

    if (props.alarmEmail !== undefined) {
      this.topic = createAlarmTopic(this, props.alarmEmail);
      const action = new SnsAction(this.topic);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }

  /** The automatic refresh's: its dead letters, a job that did not run, a stuck queue, failures. */
  private refreshAlarms(
    refresh: NonNullable<MonitoredResources['refresh']>,
    maxReceiveCount: number,
  ) {
    const deadLetters = this.alarm('RefreshDeadLetterQueueNotEmpty', {
      description: `tokenwatch: refresh requests failed ${maxReceiveCount} times and wait in the refresh dead-letter queue; the refresher keeps failing, and tokens may expire instead of being refreshed`,
      metric: messagesWaitingIn(refresh.deadLetterQueue),
    });
    const notRunning = this.notRunning(
      'RefreshJobNotRunning',
      'the automatic refresh job',
      refresh.job,
    );
    // The job queues what the refresher can do before its next run: a request older than two
    // runs was not read.
    const maxAge = Duration.minutes(2 * refreshIntervalMinutes(refresh.job.schedule));
    const queueAge = this.alarm('RefreshQueueAge', {
      description: `tokenwatch: a refresh request has waited ${maxAge.toHumanString()} (two runs of the job): the refresher is not reading its queue`,
      metric: oldestMessageAge(refresh.queue),
      threshold: maxAge.toSeconds(),
    });
    const failureRatio = this.alarm('RefreshFailureRatio', {
      description: `tokenwatch: in the last hour ${refreshFailureThreshold} % or more of the automatic refresh's calls to Instagram (${refreshMinimumCalls} at least) were refused or failed; tokens may expire instead of being refreshed`,
      metric: refreshFailurePercent(),
      threshold: refreshFailureThreshold,
    });
    return { deadLetters, notRunning, queueAge, failureRatio };
  }

  /** The API's 5xx, SES's reputation, and the bounces and complaints nobody could record. */
  private deliveryAlarms(props: AlarmsProps) {
    const api = this.alarm('ApiServerErrors', {
      description: `tokenwatch: ${apiServerErrorThreshold} % or more of the API's requests in 5 minutes (${apiMinimumRequests} at least) were answered with a 5xx`,
      metric: apiServerErrorRate(props.api),
      threshold: apiServerErrorThreshold,
    });
    const bounces = this.alarm('SesBounceRate', {
      description: `tokenwatch: the account's SES bounce rate reached ${sesBounceRateThreshold * 100} %, where SES reviews an account (at 10 % it may pause all its sending)`,
      metric: sesReputation('Reputation.BounceRate'),
      threshold: sesBounceRateThreshold,
    });
    const complaints = this.alarm('SesComplaintRate', {
      description: `tokenwatch: the account's SES complaint rate reached ${sesComplaintRateThreshold * 100} %, where SES reviews an account (at 0.5 % it may pause all its sending)`,
      metric: sesReputation('Reputation.ComplaintRate'),
      threshold: sesComplaintRateThreshold,
    });
    const feedbackDeadLetters =
      props.emailFeedbackDeadLetterQueue &&
      this.alarm('EmailFeedbackDeadLetters', {
        description: `tokenwatch: SES bounce or complaint events failed ${String(props.maxReceiveCount)} times and wait in the email feedback dead-letter queue; those addresses are not suppressed, and may be sent to again`,
        metric: messagesWaitingIn(props.emailFeedbackDeadLetterQueue),
      });
    return { api, bounces, complaints, feedbackDeadLetters };
  }

  /** Every alarm made, in one list (the topic's action goes on each). */
  private listed(): Alarm[] {
    return [
      this.checkFailing,
      this.checkCannotPublish,
      this.deadLetterQueueNotEmpty,
      this.undeliveredEventsNotEmpty,
      this.emailsSentTwice,
      this.storm,
      this.digestFlushFailing,
      this.notificationQueueAge,
      this.apiServerErrors,
      this.sesBounceRate,
      this.sesComplaintRate,
      ...[
        this.emailFeedbackDeadLetters,
        this.checkNotRunning,
        this.digestFlushNotRunning,
        this.refreshDeadLetterQueueNotEmpty,
        this.refreshJobNotRunning,
        this.refreshQueueAge,
        this.refreshFailureRatio,
      ].filter((alarm) => alarm !== undefined),
      ...this.functionFailing.values(),
    ];
  }

  private alarm(id: string, options: AlarmOptions, scope: Construct = this): Alarm {
    const alarm = new Alarm(scope, id, {
      ...onFirst,
      threshold: options.threshold ?? onFirst.threshold,
      comparisonOperator: options.comparisonOperator ?? onFirst.comparisonOperator,
      evaluationPeriods: options.evaluationPeriods ?? onFirst.evaluationPeriods,
      treatMissingData: options.treatMissingData ?? onFirst.treatMissingData,
      alarmDescription: `${options.description}. See README, Runbook: ${options.runbook ?? id}.`,
      metric: options.metric,
    });
    // Alarms made here from the start keep the id CDK gives them.
    if (scope === this && isFormerlyOwned(id))
      keepLogicalId(alarm, [formerOwner[id], id, 'Resource']);
    return alarm;
  }

  /**
   * Fewer than one run in each of two intervals. No run is no data (Lambda counts invocations
   * that happened), so missing data breaches; two intervals, so that a run that came late into
   * the next period does not alarm.
   */
  private notRunning(id: string, what: string, scheduled: ScheduledFunction): Alarm | undefined {
    const interval = scheduleInterval(scheduled.schedule);
    if (interval === undefined) {
      Annotations.of(this).addWarningV2(
        `tokenwatch:${id}`,
        `${id}: ${scheduled.schedule} is not a rate() of a day at most, so no alarm watches that ${what} keeps running`,
      );
      return undefined;
    }
    return this.alarm(id, {
      description: `tokenwatch: ${what} did not run in two of its intervals (${interval.toHumanString()} each): its schedule, its role or Lambda is not running it`,
      runbook: 'CheckNotRunning, RefreshJobNotRunning, DigestFlushNotRunning',
      metric: runsPer(scheduled.fn, interval),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: TreatMissingData.BREACHING,
    });
  }

  /**
   * One alarm per function on its errors and throttles together (one math expression): both
   * say the function did not do its work, the alarm names the function, and the runbook tells
   * the two apart on the dashboard. Two alarms each would cost the same (CloudWatch bills per
   * metric an alarm reads) and double the list an operator scans.
   */
  private functionAlarms(functions: readonly IFunction[]): ReadonlyMap<IFunction, Alarm> {
    const scope = new Construct(this, 'Functions');
    const stack = Stack.of(this);
    const alarms = new Map<IFunction, Alarm>();
    for (const fn of functions) {
      const path = fn.node.scopes
        .slice(fn.node.scopes.indexOf(stack) + 1)
        .map((construct) => construct.node.id);
      const alarm = this.alarm(
        path.join(''),
        {
          description: `tokenwatch: the function ${path.join('/')} failed or was throttled in the last 5 minutes (Lambda ${fn.functionName})`,
          runbook: 'Functions',
          metric: errorsAndThrottles(fn),
        },
        scope,
      );
      alarms.set(fn, alarm);
    }
    return alarms;
  }
}

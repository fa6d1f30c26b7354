/**
 * Every alarm of the stack, and the one topic they go to. The other constructs expose what is
 * worth watching (a function, a queue); what counts as trouble, and who hears of it, is here.
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { keepLogicalId } from './legacy-logical-ids';
import { tokenwatchMetric } from './metrics';

export interface AlarmsProps {
  /** The function the schedule runs to find expired tokens. */
  readonly expiryCheck: IFunction;
  /** Where expired-token messages end up after the notifier failed them `maxReceiveCount` times. */
  readonly deadLetterQueue: IQueue;
  /** Where the rule puts expired-token events it could not deliver to the notification queue. */
  readonly undeliveredEvents: IQueue;
  /**
   * Where refresh requests end up after the refresher failed them `maxReceiveCount` times.
   * @default none: the automatic refresh is off
   */
  readonly refreshDeadLetterQueue?: IQueue;
  /** The function the digest schedule runs (digests, and the notices a released storm held). */
  readonly digestFlush: IFunction;
  /** Receives before a message reaches a dead-letter queue, for the alarms' descriptions. */
  readonly maxReceiveCount: number;
  /** Where alarms are sent. @default none: alarms only change state, and no topic is created */
  readonly alarmEmail?: string;
}

/** Any one occurrence in one period is trouble; no data is no trouble. */
const onFirst = {
  threshold: 1,
  comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: TreatMissingData.NOT_BREACHING,
} as const;

export class Alarms extends Construct {
  /** In alarm when the check failed in two periods of one hour in a row. */
  readonly checkFailing: Alarm;
  /**
   * In alarm when, in two periods of one hour in a row, the bus refused expired-token events or
   * marks failed: the check itself ran, so `checkFailing` stays quiet, yet nobody is emailed.
   */
  readonly checkCannotPublish: Alarm;
  readonly deadLetterQueueNotEmpty: Alarm;
  readonly undeliveredEventsNotEmpty: Alarm;
  /** Set when the automatic refresh is on. */
  readonly refreshDeadLetterQueueNotEmpty?: Alarm;
  /** Exactly once is the promise: this fires the first time it is broken. */
  readonly emailsSentTwice: Alarm;
  /**
   * A storm: declared, and every hour until the widget service ends it (the flush reports it
   * hourly, and the alarm falls back to OK between reports, so each report notifies again).
   */
  readonly storm: Alarm;
  /** In alarm when the digest flush failed in three runs of 5 minutes in a row. */
  readonly digestFlushFailing: Alarm;
  /** Every alarm above. */
  readonly all: readonly Alarm[];
  /** Set when an alarm email was given. */
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1) {
      throw new Error(`maxReceiveCount: ${props.maxReceiveCount} is not a positive integer`);
    }

    this.checkFailing = this.alarm('CheckFailing', {
      description:
        'tokenwatch: the expired-token check failed in two hours in a row; expired tokens may go unnoticed',
      metric: props.expiryCheck.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
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
    this.deadLetterQueueNotEmpty = this.alarm('DeadLetterQueueNotEmpty', {
      description: `tokenwatch: expired-token messages failed ${props.maxReceiveCount} times and wait in the dead-letter queue; emails may be missing`,
      metric: messagesWaitingIn(props.deadLetterQueue),
    });
    this.undeliveredEventsNotEmpty = this.alarm('UndeliveredEventsNotEmpty', {
      description:
        'tokenwatch: expired-token events could not be delivered to the notification queue',
      metric: messagesWaitingIn(props.undeliveredEvents),
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
        'tokenwatch: a storm: many tokens refused or failing to refresh at once (likely trouble on Instagram’s side). Customer emails are held and automatic refresh is paused until the widget service ends it with POST /service/storm (release or discard). GET /service/storm, or the flush’s log line "Storm still on", gives the breakdown by cause. See README, Runbook: Storm.',
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
      metric: props.digestFlush.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      evaluationPeriods: 3,
    });
    if (props.refreshDeadLetterQueue !== undefined) {
      this.refreshDeadLetterQueueNotEmpty = this.alarm('RefreshDeadLetterQueueNotEmpty', {
        description: `tokenwatch: refresh requests failed ${props.maxReceiveCount} times and wait in the refresh dead-letter queue; the refresher keeps failing, and tokens may expire instead of being refreshed`,
        metric: messagesWaitingIn(props.refreshDeadLetterQueue),
      });
    }
    this.all = [
      this.checkFailing,
      this.checkCannotPublish,
      this.deadLetterQueueNotEmpty,
      this.undeliveredEventsNotEmpty,
      this.emailsSentTwice,
      this.storm,
      this.digestFlushFailing,
      ...(this.refreshDeadLetterQueueNotEmpty ? [this.refreshDeadLetterQueueNotEmpty] : []),
    ];

    if (props.alarmEmail !== undefined) {
      this.topic = this.createTopic(props.alarmEmail);
      const action = new SnsAction(this.topic);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }

  private alarm(
    id: string,
    options: { description: string; metric: IMetric; evaluationPeriods?: number },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      ...onFirst,
      alarmDescription: options.description,
      metric: options.metric,
      evaluationPeriods: options.evaluationPeriods ?? 1,
    });
    // Alarms made here from the start keep the id CDK gives them.
    if (isFormerlyOwned(id)) keepLogicalId(alarm, [formerOwner[id], id, 'Resource']);
    return alarm;
  }

  private createTopic(alarmEmail: string): Topic {
    if (!/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
      throw new Error(`alarmEmail: ${alarmEmail} is not an email address`);
    }
    const topic = new Topic(this, 'Topic', { displayName: 'tokenwatch alarms', enforceSSL: true });
    keepLogicalId(topic, ['Notifications', 'AlarmTopic', 'Resource']);
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and the topic carries only alarm names and states, no customer data.',
    });
    // enforceSSL makes CDK write the topic's policy, and a topic policy replaces SNS's default
    // one, which let the account (CloudWatch included) publish. With only the TLS Deny left,
    // CloudWatch, a service principal with no identity policy to fall back on, is refused
    // every publish ("no resource-based policy allows the SNS:Publish action"): allowed here,
    // for the alarms of this account and region only.
    const { account, region } = Stack.of(this);
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${region}:${account}:alarm:*`,
          },
        },
      }),
    );
    const subscription = topic.addSubscription(new EmailSubscription(alarmEmail));
    keepLogicalId(subscription, ['Notifications', 'AlarmTopic', alarmEmail, 'Resource']);
    const policy = topic.node.tryFindChild('Policy');
    if (policy) keepLogicalId(policy, ['Notifications', 'AlarmTopic', 'Policy', 'Resource']);
    return topic;
  }
}

/** Which construct each alarm belonged to before this one owned them all (for its logical id). */
const formerOwner = {
  CheckFailing: 'ExpiryCheck',
  CheckCannotPublish: 'ExpiryCheck',
  DeadLetterQueueNotEmpty: 'Notifications',
  UndeliveredEventsNotEmpty: 'Notifications',
  EmailsSentTwice: 'Notifications',
} as const;

const isFormerlyOwned = (id: string): id is keyof typeof formerOwner =>
  Object.hasOwn(formerOwner, id);

/** The most messages visible in a minute: one is enough to look. */
const messagesWaitingIn = (queue: IQueue) =>
  queue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(1),
    statistic: 'Maximum',
  });

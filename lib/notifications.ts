/**
 * From the bus to the inbox: a rule on `Instagram Token Expired` → an encrypted, TLS-only queue
 * (with a dead-letter queue after 5 receives) → notify-expired-token, which sends through SES.
 * Alarms fire when either dead-letter queue (the queue's, or the rule target's for events that
 * never reached the queue) holds anything, and when anyone got the same email twice.
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationSet, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { tokenwatchMetric } from './metrics';
import { tokenExpiredRulePattern } from '../functions/platform/schemas';
import type { StackConfig } from './config';
import { grantTableActions, logRetention } from './function-access';
import { TokenwatchFunction } from './tokenwatch-function';

export interface NotificationsProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** The full URL of `POST /unsubscribe` on the deployed API. */
  readonly unsubscribeUrl: string;
  readonly unsubscribeSigningKey: ISecret;
  /** @default Duration.seconds(60) */
  readonly notifierTimeout?: Duration;
}

/** Receives before a message is given up on and moved to the dead-letter queue. */
export const maxReceiveCount = 5;

/**
 * The notifier's maximum concurrency for a sending rate: at least 2 (the event source
 * mapping's minimum), one more per 5 emails a second, so one process never has to send faster
 * than it can. Each process then paces itself to rate / concurrency.
 */
export function notifierConcurrency(sesMaxSendRate: number): number {
  return Math.min(1000, Math.max(2, Math.ceil(sesMaxSendRate / 5)));
}

export class Notifications extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** Events the rule could not deliver to the queue. */
  readonly undeliveredEvents: Queue;
  readonly rule: Rule;
  readonly notifier: TokenwatchFunction;
  readonly configurationSetName: string;
  readonly alarms: Alarm[];
  readonly alarmTopic?: Topic;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { config } = props;
    const timeout = props.notifierTimeout ?? Duration.seconds(60);
    const concurrency = notifierConcurrency(config.sesMaxSendRate);
    const secureQueue = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...secureQueue,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...secureQueue,
      // Lambda's advice: six times the function's timeout, so a batch still being worked on
      // (or retried by the function itself) is not handed to a second notifier.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
    this.undeliveredEvents = new Queue(this, 'UndeliveredEvents', {
      ...secureQueue,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.undeliveredEvents).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: the one of the EventBridge rule target, for events that never reached the notification queue.',
    });

    this.rule = new Rule(this, 'TokenExpiredRule', {
      eventBus: props.bus,
      description: 'tokenwatch: expired tokens go to the notification queue',
      eventPattern: {
        source: tokenExpiredRulePattern.source,
        detailType: tokenExpiredRulePattern['detail-type'],
      },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.undeliveredEvents,
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    if (config.sesConfigurationSetName) {
      this.configurationSetName = config.sesConfigurationSetName;
    } else {
      const configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
        reputationMetrics: true,
        sendingEnabled: true,
        suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      });
      this.configurationSetName = configurationSet.configurationSetName;
    }

    const leaseSeconds = timeout.toSeconds() * 2;
    this.notifier = new TokenwatchFunction(this, 'Notifier', {
      entry: 'notify-expired-token',
      description: 'tokenwatch: emails owners and opted-in developers about an expired token',
      timeout,
      logRetention: logRetention(config.logRetentionDays),
      environment: {
        SENDER_ADDRESS: config.senderAddress,
        APP_URL: config.appUrl,
        UNSUBSCRIBE_URL: props.unsubscribeUrl,
        UNSUBSCRIBE_KEY_SECRET_ID: props.unsubscribeSigningKey.secretArn,
        SES_CONFIGURATION_SET: this.configurationSetName,
        SES_MAX_SEND_RATE: String(config.sesMaxSendRate),
        NOTIFY_MAX_CONCURRENCY: String(concurrency),
        // Longer than any live invocation (so a running send is never taken over), shorter
        // than the visibility timeout (so the first redelivery after a crash can take over).
        NOTIFICATION_LEASE_SECONDS: String(leaseSeconds),
      },
    });
    grantTableActions(this.notifier, props.table, {
      table: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ],
    });
    props.unsubscribeSigningKey.grantRead(this.notifier);
    const { region, account } = Stack.of(this);
    const senderDomain = config.senderAddress.split('@')[1] ?? config.senderAddress;
    this.notifier.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [
          `arn:${Aws.PARTITION}:ses:${region}:${account}:identity/${senderDomain}`,
          `arn:${Aws.PARTITION}:ses:${region}:${account}:identity/${config.senderAddress}`,
          `arn:${Aws.PARTITION}:ses:${region}:${account}:configuration-set/${this.configurationSetName}`,
        ],
        conditions: { StringEquals: { 'ses:FromAddress': config.senderAddress } },
      }),
    );
    this.notifier.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: concurrency,
      }),
    );

    this.alarms = [
      this.notEmptyAlarm('DeadLetterQueueNotEmpty', this.deadLetterQueue, {
        description: `tokenwatch: expired-token messages failed ${maxReceiveCount} times and wait in the dead-letter queue; emails may be missing`,
      }),
      this.notEmptyAlarm('UndeliveredEventsNotEmpty', this.undeliveredEvents, {
        description:
          'tokenwatch: expired-token events could not be delivered to the notification queue',
      }),
      // Exactly once is the promise: a second email for the same token only happens when a
      // send outlived its claim's lease, which the lease (twice the timeout) should rule out.
      new Alarm(this, 'EmailsSentTwice', {
        alarmDescription:
          'tokenwatch: someone got the same expired-token email twice: a send outlived its claim lease (NOTIFICATION_LEASE_SECONDS)',
        metric: tokenwatchMetric('ExpiredTokenEmailsSentTwice', Duration.minutes(5)),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];

    if (config.alarmEmail) {
      this.alarmTopic = new Topic(this, 'AlarmTopic', {
        displayName: 'tokenwatch alarms',
        enforceSSL: true,
      });
      Validations.of(this.alarmTopic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and the topic carries only alarm names and states, no customer data.',
      });
      this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));
      for (const alarm of this.alarms) alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    }
  }

  private notEmptyAlarm(id: string, queue: Queue, options: { description: string }): Alarm {
    return new Alarm(this, id, {
      alarmDescription: options.description,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}

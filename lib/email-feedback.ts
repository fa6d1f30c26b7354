/**
 * SES's feedback, from the configuration set to the suppression records: the configuration set
 * publishes bounces, complaints, rejects and delivery delays to the account's default
 * EventBridge bus (the only bus SES publishes to), a rule there sends this configuration set's
 * bounces and complaints to an encrypted, TLS-only queue (with a dead-letter queue after 5
 * receives), and record-email-feedback records each address as suppressed or counts its soft
 * bounce (functions/notifications/email-feedback.ts).
 *
 * A queue between the rule and the function rather than EventBridge invoking it directly: a
 * burst of bounces (a bad batch of addresses) waits in the queue at a bounded concurrency
 * instead of throttling, a poison event fails alone through a partial batch response, and what
 * ends in the dead-letter queue is the event itself, which SQS redrives as it is (Lambda's own
 * on-failure destination would hold a wrapper that nothing can replay without a script). The
 * dead-letter queue is exposed for lib/alarms.ts to watch.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  EmailSendingEvent,
  EventDestination,
  type ConfigurationSetEventDestination,
} from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { declaredEnvironment } from '../functions/environment/variables';
import {
  feedbackRulePattern,
  sesFeedbackDetailTypes,
  sesEventSource,
} from '../functions/notifications/feedback-rule';
import { grantTableActions } from './function-access';
import { maxReceiveCount, type Notifications } from './notifications';
import { TokenwatchFunction } from './tokenwatch-function';

export interface EmailFeedbackProps {
  readonly table: ITableV2;
  /**
   * The configuration set the emails are sent with (the rule takes only its events), the one the
   * stack created if any (its events are published to the default bus here; an operator's own
   * set publishes them as the README says), and where the rule puts the events it could not
   * deliver to the queue (the notification rules' dead-letter queue).
   */
  readonly notifications: Pick<
    Notifications,
    'configurationSetName' | 'configurationSet' | 'undeliveredEvents'
  >;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class EmailFeedback extends Construct {
  /** Set when the stack created the configuration set. */
  readonly eventDestination?: ConfigurationSetEventDestination;
  readonly rule: Rule;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly recorder: TokenwatchFunction;

  constructor(scope: Construct, id: string, props: EmailFeedbackProps) {
    super(scope, id);
    const { configurationSet, configurationSetName, undeliveredEvents } = props.notifications;
    if (configurationSet) {
      this.eventDestination = configurationSet.addEventDestination('DefaultBus', {
        destination: EventDestination.eventBus(
          EventBus.fromEventBusName(this, 'DefaultBus', 'default'),
        ),
        events: [
          EmailSendingEvent.BOUNCE,
          EmailSendingEvent.COMPLAINT,
          EmailSendingEvent.REJECT,
          EmailSendingEvent.DELIVERY_DELAY,
        ],
      });
    }

    const timeout = Duration.seconds(30);
    const secureQueue = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...secureQueue,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...secureQueue,
      // Lambda's advice, as for the notification queue: six times the function's timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const pattern = feedbackRulePattern(configurationSetName);
    // No eventBus: a rule without one is on the account's default bus, where SES publishes.
    this.rule = new Rule(this, 'Rule', {
      description: 'tokenwatch: SES bounces and complaints go to the email feedback queue',
      eventPattern: {
        source: [sesEventSource],
        detailType: [sesFeedbackDetailTypes.bounce, sesFeedbackDetailTypes.complaint],
        detail: pattern.detail,
      },
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: undeliveredEvents,
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.recorder = new TokenwatchFunction(this, 'Recorder', {
      entry: 'record-email-feedback',
      description: 'tokenwatch: records the addresses SES reports as bounced or complained',
      timeout,
      logRetention: props.logRetention,
      environment: declaredEnvironment('record-email-feedback', {
        TABLE_NAME: props.table.tableName,
      }),
    });
    // One transaction per feedback: the marker (Put) and the address's record (Update).
    grantTableActions(this.recorder, props.table, {
      table: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
    this.recorder.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
  }
}

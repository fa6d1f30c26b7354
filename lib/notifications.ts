/**
 * From the bus to the inbox: a rule on `Instagram Token Expired` → an encrypted, TLS-only queue
 * (with a dead-letter queue after 5 receives) → notify-expired-token, which sends through SES
 * (and puts an event it could only partly send back on the bus for the people still waiting).
 * Both dead-letter queues (the queue's, and the rule target's for events that never reached the
 * queue) are exposed for lib/alarms.ts to watch.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { ConfigurationSet, SuppressionReasons } from 'aws-cdk-lib/aws-ses';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { declaredEnvironment } from '../functions/environment/variables';
import { linkUsedRulePattern, noticeRulePattern } from '../functions/tokens/events';
import { grantTableActions } from './function-access';
import { domainOf, grantSendAs } from './sender-identity';
import { TokenwatchFunction } from './tokenwatch-function';

export interface NotificationsProps {
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** The full URL of `POST /unsubscribe` on the deployed API. */
  readonly unsubscribeUrl: string;
  readonly unsubscribeSigningKey: ISecret;
  /** The frontend's base URL, without a trailing slash: links in emails point there. */
  readonly appUrl: string;
  /** A verified SES identity in the target account; the notifier may send as it only. */
  readonly senderAddress: string;
  /** @default an SES configuration set created here */
  readonly sesConfigurationSetName?: string;
  /** Emails per second the notifiers may send, together, at most. @default 10 */
  readonly sesMaxSendRate?: number;
  /** @default Duration.seconds(60) */
  readonly notifierTimeout?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** A recipient's digest window in minutes; 0 turns digests off. @default 60 */
  readonly digestWindowMinutes?: number;
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

/**
 * The rules that bring the events people hear of to the notification queue: the notices
 * (expired, expiring, reminders) and the uses of reconnect links. Made in the notifications
 * construct's own scope, so their logical ids stay what they were.
 */
function noticeRules(
  scope: Construct,
  bus: IEventBus,
  queue: Queue,
  undeliveredEvents: Queue,
): { rule: Rule; linkUsedRule: Rule } {
  // Both rules hand their events to the queue the same way: 20 tries over a day, then the
  // dead-letter queue of undelivered events.
  const queueTarget = () =>
    new SqsQueue(queue, {
      deadLetterQueue: undeliveredEvents,
      retryAttempts: 20,
      maxEventAge: Duration.hours(24),
    });
  const rule = new Rule(scope, 'TokenExpiredRule', {
    eventBus: bus,
    description: 'tokenwatch: expired tokens go to the notification queue',
    eventPattern: {
      source: noticeRulePattern.source,
      detailType: noticeRulePattern['detail-type'],
    },
    targets: [queueTarget()],
  });
  const linkUsedRule = new Rule(scope, 'LinkUsedRule', {
    eventBus: bus,
    description: 'tokenwatch: tokens stored through a reconnect link go to the notification queue',
    eventPattern: {
      source: linkUsedRulePattern.source,
      detailType: linkUsedRulePattern['detail-type'],
      detail: linkUsedRulePattern.detail,
    },
    targets: [queueTarget()],
  });

  return { rule, linkUsedRule };
}

export class Notifications extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** Events the rule could not deliver to the queue. */
  readonly undeliveredEvents: Queue;
  readonly rule: Rule;
  /**
   * `Instagram Token Refreshed` by `link:<linkId>` (a client used a reconnect link): to the same
   * queue, so the link's creator hears of it.
   */
  readonly linkUsedRule: Rule;
  readonly notifier: TokenwatchFunction;
  readonly configurationSetName: string;
  /**
   * The configuration set the stack created (its bounces and complaints come back through
   * lib/email-feedback.ts); none when the operator brings their own.
   */
  readonly configurationSet?: ConfigurationSet;
  /** How many processes send at the SES rate: the notifiers at most, and the digest flush. */
  readonly sendingProcesses: number;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { senderAddress } = props;
    const sesMaxSendRate = props.sesMaxSendRate ?? 10;
    if (!(sesMaxSendRate > 0)) throw new Error(`sesMaxSendRate: ${sesMaxSendRate} is not positive`);
    // The SES permission below is held to this one From address.
    if (domainOf(senderAddress) === undefined) {
      throw new Error(`senderAddress: ${senderAddress} is not an email address`);
    }
    const timeout = props.notifierTimeout ?? Duration.seconds(60);
    const concurrency = notifierConcurrency(sesMaxSendRate);
    this.sendingProcesses = concurrency + 1;
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

    ({ rule: this.rule, linkUsedRule: this.linkUsedRule } = noticeRules(
      this,
      props.bus,
      this.queue,
      this.undeliveredEvents,
    ));

    if (props.sesConfigurationSetName) {
      this.configurationSetName = props.sesConfigurationSetName;
    } else {
      this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
        reputationMetrics: true,
        sendingEnabled: true,
        suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      });
      this.configurationSetName = this.configurationSet.configurationSetName;
    }

    const leaseSeconds = timeout.toSeconds() * 2;
    this.notifier = new TokenwatchFunction(this, 'Notifier', {
      entry: 'notify-expired-token',
      description: 'tokenwatch: emails owners and opted-in developers about an expired token',
      timeout,
      logRetention: props.logRetention,
      environment: declaredEnvironment('notify-expired-token', {
        TABLE_NAME: props.table.tableName,
        SENDER_ADDRESS: senderAddress,
        APP_URL: props.appUrl,
        UNSUBSCRIBE_URL: props.unsubscribeUrl,
        UNSUBSCRIBE_KEY_SECRET_ID: props.unsubscribeSigningKey.secretArn,
        SES_CONFIGURATION_SET: this.configurationSetName,
        SES_MAX_SEND_RATE: String(sesMaxSendRate),
        // The digest flush is one more sender of the same rate (lib/digests.ts).
        NOTIFY_MAX_CONCURRENCY: String(concurrency + 1),
        // Longer than any live invocation (so a running send is never taken over), shorter
        // than the visibility timeout (so the first redelivery after a crash can take over).
        NOTIFICATION_LEASE_SECONDS: String(leaseSeconds),
        EVENT_BUS_NAME: props.bus.eventBusName,
        DIGEST_WINDOW_MINUTES: String(props.digestWindowMinutes ?? 60),
      }),
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
    // Any identity, only as the sender: the SES sandbox checks the recipient's too (grantSendAs).
    grantSendAs(this.notifier, senderAddress, this.configurationSetName);
    // An event that made progress but still has people waiting goes back on the bus, and the
    // rule above brings it back as a fresh message (#notifications/queue-batch).
    props.bus.grantPutEventsTo(this.notifier);
    this.notifier.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: concurrency,
      }),
    );
  }
}

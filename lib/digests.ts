/**
 * The digest flush: an EventBridge Scheduler schedule (default every 5 minutes) runs
 * flush-digests, which sends each recipient whose digest window ended their waiting notices in
 * one email, and the notices a released storm held (functions/notifications/digest-flush.ts).
 * It sends as the notifier does: the same sender, configuration set and signing key, and one
 * share of the same SES rate.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { declaredEnvironment } from '../functions/environment/variables';
import { dueIndex } from '../functions/storage/table';
import { grantTableActions } from './function-access';
import { grantSendAs } from './sender-identity';
import { TokenwatchFunction } from './tokenwatch-function';

export interface DigestsProps {
  readonly table: ITableV2;
  readonly unsubscribeUrl: string;
  readonly unsubscribeSigningKey: ISecret;
  readonly appUrl: string;
  readonly senderAddress: string;
  readonly configurationSetName: string;
  readonly sesMaxSendRate: number;
  /** How many processes share the SES rate, this one included. */
  readonly sendingProcesses: number;
  /** @default 60; 0 turns digests off (the flush still sends what a released storm held) */
  readonly windowMinutes?: number;
  /** @default 'rate(5 minutes)' */
  readonly schedule?: string;
  readonly logRetention?: RetentionDays;
}

export class Digests extends Construct {
  readonly flusher: TokenwatchFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: DigestsProps) {
    super(scope, id);
    const windowMinutes = props.windowMinutes ?? 60;
    if (!Number.isInteger(windowMinutes) || windowMinutes < 0 || windowMinutes > 1440) {
      throw new Error(`digestWindowMinutes: ${windowMinutes} is not whole minutes from 0 to 1440`);
    }
    const schedule = props.schedule ?? 'rate(5 minutes)';
    if (!Token.isUnresolved(schedule) && !/^(rate|cron|at)\(.+\)$/.test(schedule)) {
      throw new Error(`digestSchedule: ${schedule} is not a rate(), cron() or at() expression`);
    }
    const timeout = Duration.minutes(2);

    this.flusher = new TokenwatchFunction(this, 'Flusher', {
      entry: 'flush-digests',
      description: 'tokenwatch: sends the digests of ended windows, and released held notices',
      timeout,
      logRetention: props.logRetention,
      environment: declaredEnvironment('flush-digests', {
        TABLE_NAME: props.table.tableName,
        SENDER_ADDRESS: props.senderAddress,
        APP_URL: props.appUrl,
        UNSUBSCRIBE_URL: props.unsubscribeUrl,
        UNSUBSCRIBE_KEY_SECRET_ID: props.unsubscribeSigningKey.secretArn,
        SES_CONFIGURATION_SET: props.configurationSetName,
        SES_MAX_SEND_RATE: String(props.sesMaxSendRate),
        NOTIFY_MAX_CONCURRENCY: String(props.sendingProcesses),
        // Longer than a run, so a digest being sent is never taken over by the next run.
        NOTIFICATION_LEASE_SECONDS: String(timeout.toSeconds() * 2),
        DIGEST_WINDOW_MINUTES: String(windowMinutes),
        DIGEST_LOOKBACK_DAYS: '7',
      }),
    });
    grantTableActions(this.flusher, props.table, {
      // DeleteItem: only a recipient's flush lease, given back when their email is sent.
      table: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ],
      indexes: { [dueIndex.name]: ['dynamodb:Query'] },
    });
    props.unsubscribeSigningKey.grantRead(this.flusher);
    // As the notifier: any identity, only as the sender (the sandbox checks the recipient's too).
    grantSendAs(this.flusher, props.senderAddress, props.configurationSetName);
    const { account } = Stack.of(this);
    // A failed run is not retried by Lambda: the next run finds the same notices waiting.
    this.flusher.configureAsyncInvoke({ retryAttempts: 0 });

    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.flusher.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason:
        'Versions and aliases of the one flush function (added by the Lambda target); the schedule can invoke nothing else.',
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'tokenwatch: sends the digests whose window ended',
      schedule: ScheduleExpression.expression(schedule),
      target: new LambdaInvoke(this.flusher, {
        role: schedulerRole,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(5),
      }),
    });
  }
}

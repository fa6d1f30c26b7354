/**
 * The expiry check: an EventBridge Scheduler schedule (default every 15 minutes) runs
 * check-expired-tokens, which reads the due-token index and publishes to the bus.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { declaredEnvironment } from '../functions/environment/variables';
import { dueIndex } from '../functions/storage/table';
import { defaultRemindAfterDays, type TokenSchedule } from '../functions/tokens/token-schedule';
import { grantTableActions } from './function-access';
import { tokenScheduleVariables } from './token-schedule';
import { TokenwatchFunction } from './tokenwatch-function';

export interface ExpiryCheckProps {
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** An EventBridge Scheduler expression. @default 'rate(15 minutes)' */
  readonly schedule?: string;
  /**
   * Days the check looks back, to catch tokens due while it could not run; 1 to 60.
   * @default 7
   */
  readonly lookbackDays?: number;
  /**
   * When tokens are refreshed and warned about: the check files a token's next warning.
   * @default 14 days; warnings 7 and 1 days before expiry
   */
  readonly tokenSchedule?: TokenSchedule;
  /** Days after a token was announced lost that its people are reminded. @default [3, 7, 14, 28] */
  readonly remindAfterDays?: readonly number[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class ExpiryCheck extends Construct {
  readonly checker: TokenwatchFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: ExpiryCheckProps) {
    super(scope, id);
    const lookbackDays = props.lookbackDays ?? 7;
    // The handler refuses anything else at cold start; better to fail the synth.
    if (!Number.isInteger(lookbackDays) || lookbackDays < 1 || lookbackDays > 60) {
      throw new Error(`lookbackDays: ${lookbackDays} is not a whole number of days from 1 to 60`);
    }
    const schedule = props.schedule ?? 'rate(15 minutes)';
    if (!Token.isUnresolved(schedule) && !/^(rate|cron|at)\(.+\)$/.test(schedule)) {
      throw new Error(`schedule: ${schedule} is not a rate(), cron() or at() expression`);
    }

    this.checker = new TokenwatchFunction(this, 'Checker', {
      entry: 'check-expired-tokens',
      description: 'tokenwatch: publishes an event for every Instagram token that expired',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
      environment: declaredEnvironment('check-expired-tokens', {
        TABLE_NAME: props.table.tableName,
        EVENT_BUS_NAME: props.bus.eventBusName,
        CHECK_LOOKBACK_DAYS: String(lookbackDays),
        REMIND_AFTER_DAYS: (props.remindAfterDays ?? defaultRemindAfterDays).join(','),
        ...tokenScheduleVariables(props.tokenSchedule),
      }),
    });
    grantTableActions(this.checker, props.table, {
      table: ['dynamodb:UpdateItem'],
      indexes: { [dueIndex.name]: ['dynamodb:Query'] },
    });
    props.bus.grantPutEventsTo(this.checker);
    // A failed run is not retried by Lambda: the next scheduled run reads the same buckets.
    this.checker.configureAsyncInvoke({ retryAttempts: 0 });

    // Its own role, so that its one finding can be acknowledged on it and nowhere else.
    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.checker.node.defaultChild as CfnFunction)}.Arn>:*]`,
      reason:
        'Versions and aliases of the one check function (added by the Lambda target); the schedule can invoke nothing else.',
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'tokenwatch: runs the expired-token check',
      schedule: ScheduleExpression.expression(schedule),
      target: new LambdaInvoke(this.checker, {
        role: schedulerRole,
        retryAttempts: 2,
        // An invocation that could not start within 5 minutes is dropped, not piled up: the
        // next run and the look-back cover the same tokens.
        maxEventAge: Duration.minutes(5),
      }),
    });
  }
}

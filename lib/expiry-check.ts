/**
 * The expiry check: an EventBridge Scheduler schedule (default every 15 minutes) runs
 * check-expired-tokens, which reads the due-token index and publishes to the bus.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { dueIndex } from '../functions/storage/table';
import type { StackConfig } from './config';
import { grantTableActions, logRetention } from './function-access';
import { tokenwatchMetric } from './metrics';
import { TokenwatchFunction } from './tokenwatch-function';

export interface ExpiryCheckProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
}

export class ExpiryCheck extends Construct {
  readonly checker: TokenwatchFunction;
  readonly schedule: Schedule;
  /** In alarm when the check failed in two periods of one hour in a row. */
  readonly failingAlarm: Alarm;
  /**
   * In alarm when, in two periods of one hour in a row, the bus refused expired-token events or
   * marks failed: the check itself ran, so the errors alarm stays quiet, yet nobody is emailed.
   */
  readonly publishingAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ExpiryCheckProps) {
    super(scope, id);
    const { config } = props;

    this.checker = new TokenwatchFunction(this, 'Checker', {
      entry: 'check-expired-tokens',
      description: 'tokenwatch: publishes an event for every Instagram token that expired',
      timeout: Duration.minutes(5),
      logRetention: logRetention(config.logRetentionDays),
      environment: {
        EVENT_BUS_NAME: props.bus.eventBusName,
        CHECK_LOOKBACK_DAYS: String(config.checkLookbackDays),
      },
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
      schedule: ScheduleExpression.expression(config.checkSchedule),
      target: new LambdaInvoke(this.checker, {
        role: schedulerRole,
        retryAttempts: 2,
        // An invocation that could not start within 5 minutes is dropped, not piled up: the
        // next run and the look-back cover the same tokens.
        maxEventAge: Duration.minutes(5),
      }),
    });

    this.failingAlarm = new Alarm(this, 'CheckFailing', {
      alarmDescription:
        'tokenwatch: the expired-token check failed in two hours in a row; expired tokens may go unnoticed',
      metric: this.checker.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.publishingAlarm = new Alarm(this, 'CheckCannotPublish', {
      alarmDescription:
        'tokenwatch: for two hours the bus refused expired-token events, or marking them failed; owners and developers are not being told',
      metric: new MathExpression({
        expression: 'FILL(refused, 0) + FILL(markFailed, 0)',
        usingMetrics: {
          refused: tokenwatchMetric('ExpiredEventsFailed', Duration.hours(1)),
          markFailed: tokenwatchMetric('TokenMarksFailed', Duration.hours(1)),
        },
        period: Duration.hours(1),
      }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}

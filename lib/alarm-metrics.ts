/**
 * What the alarms and the dashboard read, in one place, so that a graph shows exactly what an
 * alarm judges: the rates and ratios as metric math, the schedules' intervals, and the SES
 * reputation metrics.
 */
import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { tokenwatchMetric } from './metrics';
import { rateMinutes } from './schedule-interval';

/** A function a schedule runs, and the schedule's EventBridge Scheduler expression. */
export interface ScheduledFunction {
  readonly fn: IFunction;
  readonly schedule: string;
}

/**
 * The interval between runs, when an alarm can count on it: a `rate()` of a day at most
 * (CloudWatch evaluates at most a day of periods under an hour and 7 days in all, and two
 * intervals are evaluated). Otherwise undefined: a `cron()` has no single interval.
 */
export function scheduleInterval(schedule: string): Duration | undefined {
  const minutes = rateMinutes(schedule);
  return minutes === undefined || minutes > 1440 ? undefined : Duration.minutes(minutes);
}

/** How many times the schedule ran the function in each interval (no run: no data). */
export const runsPer = (fn: IFunction, interval: Duration) =>
  fn.metricInvocations({ period: interval, statistic: 'Sum' });

/** Fewer requests than this in 5 minutes say nothing about a rate: one 5xx in 3 is not 33 %. */
export const apiMinimumRequests = 20;

/** The API's 5xx answers as a percentage of its requests, per 5 minutes (0 below the minimum). */
export const apiServerErrorRate = (api: IHttpApi) =>
  new MathExpression({
    expression: `IF(FILL(requests, 0) >= ${apiMinimumRequests}, 100 * FILL(errors, 0) / FILL(requests, 1), 0)`,
    usingMetrics: {
      errors: api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      requests: api.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
    },
    period: Duration.minutes(5),
    label: 'API 5xx (% of requests)',
  });

/** A function's errors and throttles together, per 5 minutes. */
export const errorsAndThrottles = (fn: IFunction) =>
  new MathExpression({
    expression: 'FILL(errors, 0) + FILL(throttles, 0)',
    usingMetrics: {
      errors: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      throttles: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
    },
    period: Duration.minutes(5),
  });

/** The age of the oldest message, in seconds, the most in 5 minutes. */
export const oldestMessageAge = (queue: IQueue) =>
  queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' });

/** Fewer calls to Instagram than this in an hour say nothing about a ratio. */
export const refreshMinimumCalls = 10;

/**
 * The share, in percent, of the refresher's calls to Instagram in an hour that did not bring a
 * new token: refused (`TokensRejectedOnRefresh`), failed for a passing reason and filed again
 * (`RefreshesRetriedLater`) or too close to the expiry to try again (`RefreshesGivenUp`). The
 * other outcomes (not due, too young, busy, paused) asked Instagram nothing and count in neither
 * part. 0 below the minimum.
 */
export const refreshFailurePercent = () => {
  const hour = Duration.hours(1);
  const failed = new MathExpression({
    expression: 'FILL(rejected, 0) + FILL(retried, 0) + FILL(givenUp, 0)',
    usingMetrics: {
      rejected: tokenwatchMetric('TokensRejectedOnRefresh', hour),
      retried: tokenwatchMetric('RefreshesRetriedLater', hour),
      givenUp: tokenwatchMetric('RefreshesGivenUp', hour),
    },
    period: hour,
  });
  const calls = new MathExpression({
    expression: 'failed + FILL(refreshed, 0)',
    usingMetrics: { failed, refreshed: tokenwatchMetric('TokensRefreshed', hour) },
    period: hour,
  });
  return new MathExpression({
    expression: `IF(calls >= ${refreshMinimumCalls}, 100 * failed / calls, 0)`,
    usingMetrics: { failed, calls },
    period: hour,
    label: 'Refresh calls that failed (%)',
  });
};

/**
 * The account's SES reputation (a share from 0 to 1 of a representative volume of its email,
 * not of an hour's): what SES itself judges when it reviews or pauses the account, so every
 * sender in the account counts, whichever configuration set it uses.
 */
export const sesReputation = (metricName: 'Reputation.BounceRate' | 'Reputation.ComplaintRate') =>
  new Metric({
    namespace: 'AWS/SES',
    metricName,
    statistic: 'Maximum',
    period: Duration.hours(1),
  });

/** Which construct each alarm belonged to before this one owned them all (for its logical id). */
export const formerOwner = {
  CheckFailing: 'ExpiryCheck',
  CheckCannotPublish: 'ExpiryCheck',
  DeadLetterQueueNotEmpty: 'Notifications',
  UndeliveredEventsNotEmpty: 'Notifications',
  EmailsSentTwice: 'Notifications',
} as const;

export const isFormerlyOwned = (id: string): id is keyof typeof formerOwner =>
  Object.hasOwn(formerOwner, id);

/** The most messages visible in a minute: one is enough to look. */
export const messagesWaitingIn = (queue: IQueue) =>
  queue.metricApproximateNumberOfMessagesVisible({
    period: Duration.minutes(1),
    statistic: 'Maximum',
  });

/** The notification queue's oldest message this old means the notifier is not keeping up. */
export const notificationQueueMaxAge = Duration.hours(1);
/** SES reviews an account at a 5 % bounce rate (and may pause it at 10 %). */
export const sesBounceRateThreshold = 0.05;
/** SES reviews an account at 0.1 % complaints (and may pause it at 0.5 %). */
export const sesComplaintRateThreshold = 0.001;
/** Percent of an hour's refresh calls to Instagram that failed. */
export const refreshFailureThreshold = 20;
/** Percent of the API's requests in 5 minutes answered with a 5xx. */
export const apiServerErrorThreshold = 5;

/** Any one occurrence in one period is trouble; no data is no trouble. */
export const onFirst = {
  threshold: 1,
  comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: TreatMissingData.NOT_BREACHING,
  evaluationPeriods: 1,
} as const;

export interface AlarmOptions {
  /** What it means, in a sentence; the Runbook entry is added. */
  readonly description: string;
  /** The README Runbook entry (its `###` heading). @default the alarm's id */
  readonly runbook?: string;
  readonly metric: IMetric;
  readonly threshold?: number;
  readonly comparisonOperator?: ComparisonOperator;
  readonly evaluationPeriods?: number;
  readonly treatMissingData?: TreatMissingData;
}

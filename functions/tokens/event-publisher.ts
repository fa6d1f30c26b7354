/**
 * Announcing what happened to tokens on the tokenwatch bus. Each event carries exactly its
 * schema's fields, picked one by one: nothing else the caller's object might hold (a token,
 * say) ever reaches the bus.
 */
import {
  createBusPublisher,
  EventNotPublishedError,
  type BusPublisherOptions,
  type PublishOutcome,
} from '#platform/eventbridge';
import {
  detailTypes,
  eventSource,
  type TokenExpiredDetail,
  type TokenExpiringDetail,
  type TokenRefreshedDetail,
  type TokenReminderDetail,
} from './events';

export interface TokenExpiredPublisher {
  publishTokenExpired(
    details: readonly TokenExpiredDetail[],
  ): Promise<PublishOutcome<TokenExpiredDetail>>;
}

export interface TokenExpiringPublisher {
  /** Answers with the very objects it was given, so a caller may pass more than the detail. */
  publishTokenExpiring<Detail extends TokenExpiringDetail>(
    details: readonly Detail[],
  ): Promise<PublishOutcome<Detail>>;
}

export interface TokenReminderPublisher {
  /** Answers with the very objects it was given, so a caller may pass more than the detail. */
  publishTokenReminder<Detail extends TokenReminderDetail>(
    details: readonly Detail[],
  ): Promise<PublishOutcome<Detail>>;
}

export interface TokenRefreshedPublisher {
  /** Throws EventNotPublishedError when the bus did not accept it after the retries. */
  publishTokenRefreshed(detail: TokenRefreshedDetail): Promise<void>;
}

export function createEventPublisher(
  options: Omit<BusPublisherOptions, 'source'>,
): TokenExpiredPublisher &
  TokenExpiringPublisher &
  TokenReminderPublisher &
  TokenRefreshedPublisher {
  const bus = createBusPublisher({ ...options, source: eventSource });
  return {
    publishTokenExpired: (details) =>
      bus.publish(detailTypes.tokenExpired, details, (detail) => ({
        accountId: detail.accountId,
        generation: detail.generation,
        expiresAt: detail.expiresAt,
        reason: detail.reason,
        cause: detail.cause,
      })),
    publishTokenExpiring: <Detail extends TokenExpiringDetail>(details: readonly Detail[]) =>
      bus.publish(detailTypes.tokenExpiring, details, (detail: Detail) => ({
        accountId: detail.accountId,
        generation: detail.generation,
        expiresAt: detail.expiresAt,
        daysLeft: detail.daysLeft,
      })),
    publishTokenReminder: <Detail extends TokenReminderDetail>(details: readonly Detail[]) =>
      bus.publish(detailTypes.tokenReminder, details, (detail: Detail) => ({
        accountId: detail.accountId,
        generation: detail.generation,
        expiresAt: detail.expiresAt,
        reason: detail.reason,
        cause: detail.cause,
        daysSince: detail.daysSince,
        last: detail.last,
      })),
    async publishTokenRefreshed(detail) {
      const outcome = await bus.publish(detailTypes.tokenRefreshed, [detail], (refreshed) => ({
        accountId: refreshed.accountId,
        generation: refreshed.generation,
        expiresAt: refreshed.expiresAt,
        by: refreshed.by,
      }));
      const [rejected] = outcome.rejected;
      if (rejected) {
        throw new EventNotPublishedError(`EventBridge refused the event: ${rejected.errorCode}`);
      }
    },
  };
}

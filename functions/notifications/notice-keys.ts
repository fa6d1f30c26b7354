/**
 * Where a notice's ledger record lives, and the held bucket a storm files it under: shared by
 * the waiting-notice store and the held claims without either importing the other.
 */
import { keys, noticeBuckets } from '#storage/keys';
import { shardOf } from '#tokens/filing';
import type { NotificationKey } from './ledger';

export const keyOf = (notice: NotificationKey) =>
  keys.notification(notice.accountId, notice.generation, notice.occasion, notice.userId);

export const heldBucket = (userId: string) => noticeBuckets.held(shardOf(userId));

/**
 * The claim of one email in one request, for the common case: nobody has claimed it, its
 * recipient's digest window is free, and the token is still as the notifier read it. One
 * transaction writes the claim (ledger.ts), opens the window for this notice (digest-windows.ts)
 * and checks the account (accounts.ts), so the notifier need not open the window first nor read
 * the account again after the claim, and no window is opened for an email that is not claimed.
 *
 * Anything else (a record there already, a window open, the token moved on, another writer on
 * one of those items at the same instant) answers `look-closer`, having written nothing: the
 * notifier then takes the step-by-step path (digest.ts, send-once.ts), which says which it was
 * and does what each case needs, exactly as it did before this shortcut existed.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountSummary } from '#tokens/account';
import { tokenUnchangedCheck } from '#tokens/accounts';
import { windowOpening } from './digest-windows';
import { claimPut, recordExpiryOf, type NotificationKey } from './ledger';

/** The digest window a notice opens when it goes at once (digest.ts `windowOf`). */
export interface WindowOpened {
  until: Date;
  openedBy: string;
}

export interface NoticeClaims {
  claimNoticeAtOnce(
    email: NotificationKey,
    claim: { claimId: string; now: Date; leaseSeconds: number },
    /** the account as read, and the window to open (none: digests are off) */
    alongside: { account: AccountSummary; window?: WindowOpened },
  ): Promise<'claimed' | 'look-closer'>;
}

export function createNoticeClaims(
  db: DynamoDBDocumentClient,
  tableName: string,
  options: { recordDays?: number } = {},
): NoticeClaims {
  return {
    async claimNoticeAtOnce(email, claim, { account, window }) {
      const ttl = recordExpiryOf(claim.now, options.recordDays);
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: claimPut(tableName, email, claim, ttl) },
              { ConditionCheck: tokenUnchangedCheck(tableName, account) },
              ...(window
                ? [
                    {
                      Update: windowOpening(
                        tableName,
                        email.userId,
                        claim.now,
                        window.until,
                        window.openedBy,
                      ),
                    },
                  ]
                : []),
            ],
          }),
        );
        return 'claimed';
      } catch (error) {
        // Cancelled: a condition did not hold, or another transaction held one of the items.
        if (error instanceof TransactionCanceledException) return 'look-closer';
        throw error;
      }
    },
  };
}

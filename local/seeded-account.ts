/**
 * An account item as `/_local/seed`, the tests and the bench write it: the fields DESIGN.md lists
 * (the connect input of functions/tokens/account.ts, status, cause and generation included) and
 * `issuedAt`, stored as the item's `tokenIssuedAt`. Left out, `issuedAt` is inferred from the
 * expiry as for any connected token (`inferredIssuedAt`); given, it must not be after `expiresAt`.
 */
import * as z from '../functions/platform/validation';
import { isoDateTime } from '../functions/platform/schemas';
import { instagramAccount } from '../functions/tokens/account';
import { inferredIssuedAt, toInstant } from '../functions/tokens/lifecycle';

export const seededAccount = z
  .safeExtend(instagramAccount, { issuedAt: z.optional(isoDateTime) })
  .check(
    z.refine(
      // Written as "not after", so an instant that is none is reported once, as not an instant.
      (account) =>
        account.issuedAt === undefined ||
        !(Date.parse(account.issuedAt) > Date.parse(account.expiresAt)),
      { message: 'issuedAt must not be after expiresAt', path: ['issuedAt'] },
    ),
  );
export type SeededAccountInput = z.input<typeof seededAccount>;
export type SeededAccount = z.infer<typeof seededAccount>;

/** The item's `tokenIssuedAt`: the given instant, or the one inferred from the expiry. */
export const seededIssuedAt = (account: SeededAccount, now: Date): string =>
  account.issuedAt === undefined
    ? inferredIssuedAt(toInstant(account.expiresAt), now)
    : toInstant(account.issuedAt);

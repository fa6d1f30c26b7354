/**
 * An Instagram account as the widget service connects it, and the developers who may act on it.
 * The only shape that carries the access token is `instagramAccount`, the input; what the rest
 * of the code sees (`AccountSummary`) never does.
 */
import { boundedString, isoDateTime, positiveInteger, schema } from '#platform/schemas';
import * as z from '#platform/validation';
import { userId } from '#people/user';
import { causeFits, tokenCause, tokenStatus } from './lifecycle';

export const accountId = /* @__PURE__ */ schema(() =>
  z
    .string()
    .check(z.regex(/^[0-9A-Za-z_-]{1,64}$/, 'an Instagram account id: letters, digits, _ or -')),
);

export const instagramUsername = /* @__PURE__ */ schema(() =>
  z.string().check(z.regex(/^[A-Za-z0-9._]{1,30}$/, 'an Instagram username')),
);
export const accessToken = /* @__PURE__ */ boundedString(1, 2048);

export const instagramAccount = /* @__PURE__ */ schema(() =>
  z
    .strictObject({
      accountId,
      ownerUserId: userId,
      username: instagramUsername,
      accessToken,
      expiresAt: isoDateTime,
      tokenStatus: z._default(tokenStatus, 'active'),
      // Only with a token that is not active: `expired` with expired, another with invalid. Left
      // out there, it is the default for the status (lifecycle.ts, defaultCause).
      cause: z.optional(tokenCause),
      // Positive, as in the events: a generation-0 token would be published, then refused as poison.
      // Left out, a new account starts at 1 and a token stored over another is the next generation.
      generation: z.optional(positiveInteger()),
    })
    .check(
      z.refine(
        (account) => account.cause === undefined || causeFits(account.tokenStatus, account.cause),
        {
          message:
            'cause goes only with a token that is not active: expired with tokenStatus expired, the others with invalid',
          path: ['cause'],
        },
      ),
    ),
);
export type InstagramAccountInput = z.input<typeof instagramAccount>;
export type InstagramAccount = z.infer<typeof instagramAccount>;

/** What the rest of the code sees of an account: everything but the secret. */
export type AccountSummary = Omit<InstagramAccount, 'accessToken' | 'generation'> & {
  /** A stored account always has one. */
  generation: number;
};

/**
 * An account as the widget service connects it (PUT /service/instagram-accounts/{accountId},
 * the import): who owns it, its name and its current token. `issuedAt` left out is inferred
 * from the expiry (a long-lived token lasts 60 days).
 */
export const accountConnection = /* @__PURE__ */ schema(() =>
  z.strictObject({
    ownerUserId: userId,
    username: instagramUsername,
    accessToken,
    expiresAt: isoDateTime,
    issuedAt: z.optional(isoDateTime),
  }),
);
export type AccountConnection = z.infer<typeof accountConnection>;

export const developerRole = /* @__PURE__ */ schema(() =>
  z.strictObject({
    accountId,
    userId,
    grantedAt: z.optional(isoDateTime),
  }),
);
export type DeveloperRole = z.infer<typeof developerRole>;

/**
 * The service API's inputs (DESIGN.md, "The service API"): one schema per body and path, built
 * from the shapes of the modules that own them (people/user.ts, tokens/account.ts). The service
 * routes validate with these, `npm run import` validates each line with the very same objects,
 * and `scripts/openapi.ts` documents them.
 */
import { schema } from '#platform/schemas';
import * as z from '#platform/validation';
import { userId, userProfile } from '#people/user';
import { accountConnection, accountId } from '#tokens/account';

/** PUT /service/users/{userId}: where to write to the user, and what to call them. */
export const serviceUserBody = /* @__PURE__ */ schema(() =>
  z.strictObject({ email: userProfile.shape.email, name: userProfile.shape.name }).check(
    z.meta({
      id: 'ServiceUserInput',
      description: 'Both fields are required; unknown fields are rejected.',
    }),
  ),
);

/** PUT /service/instagram-accounts/{accountId}: the account's owner, name and current token. */
export const serviceAccountBody = /* @__PURE__ */ schema(() =>
  accountConnection.check(
    z.meta({
      id: 'ServiceAccountInput',
      description:
        'A token other than the stored one is the next generation and is watched from now on; ' +
        'the same token again changes nothing (only `ownerUserId` and `username` are updated). ' +
        '`issuedAt` left out is inferred from `expiresAt` (a long-lived token lasts 60 days).',
    }),
  ),
);

export const userPath = /* @__PURE__ */ schema(() =>
  z.strictObject({ userId }).check(z.meta({ id: 'UserPath' })),
);

/** `accountPath` is in schemas.ts: the user routes share it. */
export const developerPath = /* @__PURE__ */ schema(() =>
  z.strictObject({ accountId, userId }).check(z.meta({ id: 'DeveloperPath' })),
);

/** POST /service/storm: how the storm on ends. */
export const stormActionBody = /* @__PURE__ */ schema(() =>
  z.strictObject({ action: z.enum(['release', 'discard']) }).check(
    z.meta({
      id: 'StormActionInput',
      description:
        '`release` sends the held notices (one email per recipient, digest rules apply); ' +
        '`discard` drops them, recorded as discarded. Either way automatic refresh resumes.',
    }),
  ),
);

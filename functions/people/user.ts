/**
 * A user of the widget service, as tokenwatch knows them: an id (their JWT's `sub`), where to
 * write to them and what to call them.
 */
import { boundedString, schema } from '#platform/schemas';
import * as z from '#platform/validation';

export const userId = /* @__PURE__ */ boundedString(1, 128);

export const userProfile = /* @__PURE__ */ schema(() =>
  z.strictObject({
    userId,
    email: z.email(),
    name: boundedString(1, 200),
  }),
);
export type UserProfile = z.infer<typeof userProfile>;

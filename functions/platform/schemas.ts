/**
 * The building blocks every input schema is made of. The product's own schemas live with the
 * rules they serve (people/user.ts, tokens/account.ts, tokens/lifecycle.ts, tokens/events.ts,
 * notifications/preferences.ts); each is used for validation at the edge, for the types the
 * code works with, and (for HTTP bodies) for the OpenAPI document.
 */
import * as z from './validation';

/**
 * A module-level schema that a bundle may leave out: `schema(() => z.…)` behind a `@__PURE__`
 * mark is dropped from every bundle that never reads it, instead of being built at each cold
 * start of every function whose imports reach its module (the check built all four event
 * envelopes, the account input and the user profile, and read none of them). esbuild trusts the
 * mark for the call it precedes, not for calls inside the arguments: hence the closure. A schema
 * made by one call with plain arguments takes the mark directly.
 */
export const schema = <Schema>(build: () => Schema): Schema => build();

/**
 * A schema built on its first use, for one most cold starts never read: an answer only some
 * flows receive, an error shape only a failure brings. Call it to get the schema.
 */
export const lazySchema = <Schema>(build: () => Schema): (() => Schema) => {
  let built: Schema | undefined;
  return () => (built ??= build());
};

/** A string of `min` to `max` characters: the bound every free-text input gets. */
export const boundedString = (min: number, max: number) =>
  z.string().check(z.minLength(min), z.maxLength(max));
export const positiveInteger = () => z.int().check(z.positive());
export const nonEmptyString = () => z.string().check(z.minLength(1));
export const isoDateTime = /* @__PURE__ */ z.iso.datetime({ offset: true });

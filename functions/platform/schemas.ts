/**
 * The building blocks every input schema is made of. The product's own schemas live with the
 * rules they serve (people/user.ts, tokens/account.ts, tokens/lifecycle.ts, tokens/events.ts,
 * notifications/preferences.ts); each is used for validation at the edge, for the types the
 * code works with, and (for HTTP bodies) for the OpenAPI document.
 */
import * as z from './validation';

/** A string of `min` to `max` characters: the bound every free-text input gets. */
export const boundedString = (min: number, max: number) =>
  z.string().check(z.minLength(min), z.maxLength(max));
export const positiveInteger = () => z.int().check(z.positive());
export const nonEmptyString = () => z.string().check(z.minLength(1));
export const isoDateTime = z.iso.datetime({ offset: true });

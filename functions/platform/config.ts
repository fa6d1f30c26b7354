/**
 * Configuration is read once, at cold start, and a missing or malformed variable fails the
 * function's start with its name, not a confusing error on the first request.
 */
import { nonEmptyString } from './schemas';
import * as z from './validation';

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export function readConfig<Shape extends z.core.$ZodLooseShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodMiniObject<Shape>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) =>
        `${issue.path.join('.')}: ${env[String(issue.path[0])] === undefined ? 'is not set' : issue.message}`,
    );
    throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Environment values are strings: these read them as what they mean. */
export const envString = nonEmptyString;
export const envInteger = (fallback?: number, bounds: { min?: number; max?: number } = {}) => {
  const integer = z.int().check(z.gte(bounds.min ?? 0));
  const parsed = z.pipe(
    z.coerce.number(),
    bounds.max === undefined ? integer : integer.check(z.lte(bounds.max)),
  );
  return fallback === undefined ? parsed : z._default(parsed, fallback);
};
export const envUrl = () => z.url();

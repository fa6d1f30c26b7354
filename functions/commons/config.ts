/**
 * Configuration is read once, at cold start, and a missing or malformed variable fails the
 * function's start with its name, not a confusing error on the first request.
 */
import * as z from 'zod';

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export function readConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
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
export const envInteger = (fallback?: number) => {
  const parsed = z.coerce.number().int().nonnegative();
  return fallback === undefined ? parsed : parsed.default(fallback);
};
export const envUrl = () => z.url();

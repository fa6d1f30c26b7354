/**
 * One logger per cold start (Powertools: structured JSON logs).
 *
 * Nothing here may ever be handed an access token: the store keeps it to itself, and the
 * secrets tests scan every line these write.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { serviceName } from './metric-names';

export const logger = new Logger({ serviceName });

/** What the jobs' cores log through: the logger above, or a test's recorder. */
export interface LogSink {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** An error as a log field: its name and message, never its stack or anything it carries. */
export const errorName = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

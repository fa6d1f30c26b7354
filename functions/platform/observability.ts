/**
 * One logger per cold start (Powertools: structured JSON logs).
 *
 * Nothing here may ever be handed an access token: the store keeps it to itself, and the
 * secrets tests scan every line these write.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { serviceName } from './metric-names';

export const logger = new Logger({ serviceName });

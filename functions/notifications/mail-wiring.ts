/**
 * What every function that sends tokenwatch's emails reads and builds the same way (the notifier
 * and the digest flush): the sender, the links' base URLs, the signing key, the configuration
 * set, and a mailer paced to this process's share of the account's SES rate.
 */
import { envInteger, envString, envUrl } from '#platform/config';
import { createPacer, createSesMailer, type Mailer } from '#platform/ses';
import * as z from '#platform/validation';

export const mailEnvironment = {
  SENDER_ADDRESS: z.email(),
  APP_URL: z.pipe(
    envUrl(),
    z.transform((url) => url.replace(/\/+$/, '')),
  ),
  UNSUBSCRIBE_URL: envUrl(),
  UNSUBSCRIBE_KEY_SECRET_ID: envString(),
  SES_CONFIGURATION_SET: z.optional(envString()),
  /** emails per second for the whole fleet of senders */
  SES_MAX_SEND_RATE: z._default(z.coerce.number().check(z.positive()), 10),
  /** how many processes send at once at most (the notifiers, and the digest flush) */
  NOTIFY_MAX_CONCURRENCY: envInteger(2, { min: 1 }),
};

/**
 * Each process takes its share of the account's rate, less a margin, so the fleet never exceeds
 * it where SES counts: on arrival. The time from the pacer to SES varies, and without the margin
 * npm run bench counted 107 arrivals in one second against a rate of 100.
 */
const pacingMargin = 0.95;

export function pacedMailer(config: {
  SENDER_ADDRESS: string;
  SES_CONFIGURATION_SET?: string;
  SES_MAX_SEND_RATE: number;
  NOTIFY_MAX_CONCURRENCY: number;
}): Mailer {
  return createSesMailer({
    from: config.SENDER_ADDRESS,
    configurationSetName: config.SES_CONFIGURATION_SET,
    pacer: createPacer((pacingMargin * config.SES_MAX_SEND_RATE) / config.NOTIFY_MAX_CONCURRENCY),
  });
}

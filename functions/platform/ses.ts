/**
 * The mailer: SESv2 SendEmail with simple content (subject, HTML, text and our own headers) and
 * the configuration set. Throttling and server errors are retried here with backoff; the SDK's
 * own retries are switched off so there is one retry policy, not two multiplied together.
 *
 * A pacer spaces the sends of one process so that, with the notifier's maximum concurrency,
 * the whole fleet stays within the account's SES sending rate.
 */
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { backoffDelay, isTransientAwsError, sleep as realSleep } from './retry';

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  headers: { name: string; value: string }[];
}

export interface Mailer {
  /** Resolves with SES's message id once SES accepted the email; throws MailNotSentError. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

/** SES answered with an error: the email was certainly not sent, so the claim may be given back. */
export class MailNotSentError extends Error {
  override name = 'MailNotSentError';
  constructor(
    message: string,
    readonly code: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The call failed without an answer from SES (network error, timeout): the email may or may not
 * have gone out, so the claim must be kept until its lease runs out, like after a crash.
 */
export class MailOutcomeUnknownError extends Error {
  override name = 'MailOutcomeUnknownError';
}

export interface Pacer {
  /** Waits until the next send may start. */
  wait(): Promise<void>;
}

/** At most `perSecond` starts per second from this process, evenly spaced. */
export function createPacer(
  perSecond: number,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> } = {
    now: () => Date.now(),
    sleep: realSleep,
  },
): Pacer {
  const spacingMs = 1000 / perSecond;
  let nextSlot = 0;
  return {
    async wait() {
      const now = clock.now();
      const slot = Math.max(now, nextSlot);
      nextSlot = slot + spacingMs;
      if (slot > now) {
        await clock.sleep(slot - now);
        // Timers fire late, never early: spacing the next start from this one's real start
        // keeps a late wake-up from squeezing the next send closer (npm run bench counted 105
        // sends in one second against a rate of 100 before this).
        nextSlot = Math.max(nextSlot, clock.now() + spacingMs);
      }
    },
  };
}

export interface SesMailerOptions {
  client?: SESv2Client;
  from: string;
  configurationSetName?: string;
  pacer?: Pacer;
  /** @default 5 — calls per email, the first one included */
  maxAttempts?: number;
  /** @default 200 */
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function createSesMailer(options: SesMailerOptions): Mailer {
  const client = options.client ?? new SESv2Client({ maxAttempts: 1 });
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? realSleep;
  const pacer = options.pacer ?? { wait: () => Promise.resolve() };

  return {
    async send(email) {
      const command = new SendEmailCommand({
        FromEmailAddress: options.from,
        Destination: { ToAddresses: [email.to] },
        ConfigurationSetName: options.configurationSetName,
        Content: {
          Simple: {
            Subject: { Data: email.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: email.html, Charset: 'UTF-8' },
              Text: { Data: email.text, Charset: 'UTF-8' },
            },
            Headers: email.headers.map((header) => ({ Name: header.name, Value: header.value })),
          },
        },
      });
      for (let attempt = 1; ; attempt += 1) {
        await pacer.wait();
        let result;
        try {
          result = await client.send(command);
        } catch (error) {
          const code = (error as { name?: string }).name ?? 'Error';
          if (!answeredBySes(error)) {
            throw new MailOutcomeUnknownError(`No answer from SES (${code})`, { cause: error });
          }
          if (!isTransientAwsError(error) || attempt >= maxAttempts) {
            throw new MailNotSentError(
              `SES did not send the email (${code}) after ${attempt} attempt(s)`,
              code,
              attempt,
              { cause: error },
            );
          }
          await sleep(backoffDelay(attempt, baseDelayMs));
          continue;
        }
        return { messageId: result.MessageId ?? 'unknown' };
      }
    },
  };
}

const answeredBySes = (error: unknown) =>
  typeof (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata
    ?.httpStatusCode === 'number';

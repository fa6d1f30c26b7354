/**
 * A recipient whose address SES reported as bounced or complained (#people/suppression) gets no
 * email from any path (the notifier, a reconnect link's answer, the digest flush): the email is
 * recorded as settled without one, with the reason, so no retry tries it again, and the log
 * names the address's domain, never the address. A later notice is a new email, checked again:
 * once the user's address changes, it goes to the new one.
 */
import type { LogSink } from '#platform/observability';
import { addressDomain, isSuppressed, type EmailStatus } from '#people/suppression';
import type { EmailStatusReader } from '#people/suppression-store';
import type { NotificationKey, SendOnceLedger } from './ledger';

/** Why a suppressed address's notice went in no email, as its record says. */
export const suppressedReason = (status: Exclude<EmailStatus, 'ok'>) => `address-${status}`;

/** The status of each of these people's addresses, keyed by the address. */
export function statusesOf(
  store: Pick<EmailStatusReader, 'emailStatusesOf'>,
  people: Iterable<{ email: string }>,
): Promise<Map<string, EmailStatus>> {
  const addresses = [...people].map((person) => person.email);
  return addresses.length > 0
    ? store.emailStatusesOf(addresses)
    : Promise.resolve(new Map<string, EmailStatus>());
}

/**
 * `suppressed` when the address gets no email: the email is recorded as not sent, and logged.
 * `send` otherwise.
 */
export async function skipIfSuppressed(
  deps: { store: Pick<SendOnceLedger, 'recordNotSent'>; clock: () => Date; log: LogSink },
  email: NotificationKey,
  recipient: { email: string; status: EmailStatus | undefined },
  context: Record<string, unknown>,
): Promise<'suppressed' | 'send'> {
  const status = recipient.status ?? 'ok';
  if (!isSuppressed(status)) return 'send';
  await deps.store.recordNotSent(email, { reason: suppressedReason(status), at: deps.clock() });
  deps.log.info('Address suppressed (SES reported it): not notified', {
    ...context,
    emailStatus: status,
    domain: addressDomain(recipient.email),
  });
  return 'suppressed';
}

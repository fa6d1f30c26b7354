/**
 * SES's feedback about the emails tokenwatch sent: the configuration set publishes its events to
 * the account's default EventBridge bus (as SES requires), and a rule there sends the bounces
 * (`Email Bounced`) and complaints (`Email Complaint Received`) of tokenwatch's own configuration
 * set to a queue, and record-email-feedback records each address's status
 * (#people/suppression). The event's `detail` is the record SES publishes to every destination
 * (`eventType`, `mail`, and `bounce` or `complaint`), as its documentation shows.
 *
 * One SQS batch, one message after the other: a message that is not such an event (poison), or
 * whose record could not be written, fails alone (a partial batch response), and after the
 * queue's last receive it moves to the dead-letter queue. An event delivered twice counts once.
 */
import { isoDateTime, nonEmptyString } from '#platform/schemas';
import { errorName, type LogSink } from '#platform/observability';
import * as z from '#platform/validation';
import type { EmailFeedbackRecorder } from '#people/suppression-store';
import {
  addressDomain,
  bounceKind,
  bounceTypes,
  type EmailFeedback,
  type FeedbackKind,
} from '#people/suppression';
import { sesEventSource, sesFeedbackDetailTypes } from './feedback-rule';
import { problemsOf, type QueueRecord } from './queue-batch';

const recipients = z
  .array(z.object({ emailAddress: z.string().check(z.minLength(3), z.maxLength(320)) }))
  .check(z.minLength(1), z.maxLength(50));
const mail = z.object({ messageId: nonEmptyString() });
const envelope = {
  version: z.string(),
  id: nonEmptyString(),
  source: z.literal(sesEventSource),
  account: z.string(),
  time: isoDateTime,
  region: z.string(),
};

/** A bounce or a complaint as EventBridge delivers it to the queue. Fields SES adds are ignored. */
export const sesFeedbackEnvelope = z.discriminatedUnion('detail-type', [
  z.object({
    ...envelope,
    'detail-type': z.literal(sesFeedbackDetailTypes.bounce),
    detail: z.object({
      eventType: z.literal('Bounce'),
      mail,
      bounce: z.object({
        bounceType: z.enum(bounceTypes),
        bounceSubType: z.optional(z.string()),
        bouncedRecipients: recipients,
        feedbackId: nonEmptyString(),
        timestamp: isoDateTime,
      }),
    }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.literal(sesFeedbackDetailTypes.complaint),
    detail: z.object({
      eventType: z.literal('Complaint'),
      mail,
      complaint: z.object({
        complainedRecipients: recipients,
        feedbackId: nonEmptyString(),
        timestamp: isoDateTime,
        complaintFeedbackType: z.optional(z.string()),
      }),
    }),
  }),
]);
export type SesFeedbackEnvelope = z.infer<typeof sesFeedbackEnvelope>;

/** What one event says about each address it names. */
export function feedbackOf(
  event: SesFeedbackEnvelope,
): { address: string; feedback: EmailFeedback; subType?: string }[] {
  if (event.detail.eventType === 'Bounce') {
    const { bounce } = event.detail;
    const feedback = {
      kind: bounceKind(bounce.bounceType),
      feedbackId: bounce.feedbackId,
      at: new Date(bounce.timestamp),
    };
    return bounce.bouncedRecipients.map(({ emailAddress }) => ({
      address: emailAddress,
      feedback,
      subType: bounce.bounceSubType,
    }));
  }
  const { complaint } = event.detail;
  const feedback = {
    kind: 'complaint' as const,
    feedbackId: complaint.feedbackId,
    at: new Date(complaint.timestamp),
  };
  return complaint.complainedRecipients.map(({ emailAddress }) => ({
    address: emailAddress,
    feedback,
    subType: complaint.complaintFeedbackType,
  }));
}

export interface FeedbackBatchResult {
  batchItemFailures: { itemIdentifier: string }[];
  totals: Record<FeedbackKind, number> & {
    messages: number;
    /** feedback recorded before: the same event delivered again */
    duplicates: number;
    /** messages that are no SES bounce or complaint, counted on their first receive */
    poison: number;
    /** messages whose feedback could not be recorded: received again */
    failed: number;
  };
}

export async function recordFeedbackFromQueue(
  records: readonly QueueRecord[],
  deps: { store: EmailFeedbackRecorder; log: LogSink },
): Promise<FeedbackBatchResult> {
  const totals: FeedbackBatchResult['totals'] = {
    messages: records.length,
    'hard-bounce': 0,
    'soft-bounce': 0,
    complaint: 0,
    duplicates: 0,
    poison: 0,
    failed: 0,
  };
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of records) {
    const parsed = parseFeedback(record.body);
    if (!parsed.success) {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1');
      if (!(receiveCount > 1)) totals.poison += 1;
      deps.log.warn('Queue message is not an SES bounce or complaint; it goes to the DLQ', {
        messageId: record.messageId,
        receiveCount,
        problems: parsed.problems,
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      for (const { address, feedback, subType } of feedbackOf(parsed.event)) {
        const context = {
          messageId: record.messageId,
          sesMessageId: parsed.event.detail.mail.messageId,
          feedbackId: feedback.feedbackId,
          kind: feedback.kind,
          subType,
          // Never the address: its domain says enough to see a pattern (one provider refusing).
          domain: addressDomain(address),
        };
        const outcome = await deps.store.recordEmailFeedback(address, feedback);
        if (outcome === 'duplicate') {
          totals.duplicates += 1;
          deps.log.info('SES feedback recorded before; nothing changes', context);
          continue;
        }
        totals[feedback.kind] += 1;
        deps.log.info(
          feedback.kind === 'soft-bounce'
            ? 'Soft bounce counted; the address still gets email'
            : 'Address suppressed: no more email goes to it',
          context,
        );
      }
    } catch (error) {
      totals.failed += 1;
      deps.log.error('SES feedback not recorded; the message will be retried', {
        messageId: record.messageId,
        error: errorName(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures, totals };
}

function parseFeedback(
  body: string,
): { success: true; event: SesFeedbackEnvelope } | { success: false; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { success: false, problems: ['body is not JSON'] };
  }
  const parsed = sesFeedbackEnvelope.safeParse(json);
  return parsed.success
    ? { success: true, event: parsed.data }
    : { success: false, problems: problemsOf(parsed.error.issues) };
}

/**
 * `POST /_local/ses/events` `{type: "Bounce" | "Complaint", email}`: the event SES would publish
 * for that address (a permanent bounce, or an `abuse` complaint), in the shape SES publishes to
 * EventBridge (the `Bounce` and `Complaint` records of the SES Developer Guide as the `detail` of
 * `aws.ses` `Email Bounced` / `Email Complaint Received`, test/fixtures/ses), put on the local
 * default bus, whose feedback rule hands it to the feedback queue and record-email-feedback, as
 * in AWS. The answer comes once the queue is drained, so the next request sees the address
 * suppressed.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { randomUUID } from 'node:crypto';
import { sesEventSource, sesFeedbackDetailTypes } from '../functions/notifications/feedback-rule';
import * as z from '../functions/platform/validation';

export const sesEventBody = z.strictObject({
  type: z.enum(['Bounce', 'Complaint']),
  email: z.email(),
});
export type SesEventBody = z.infer<typeof sesEventBody>;

/** SES's message id for an email to `address`, as its emulator keeps them: the last one. */
export type LastMessageTo = (address: string) => Promise<{ messageId: string; subject: string }>;

/** What SES publishes about one email to `email`: the event's `detail`. */
export function sesFeedbackDetail(
  body: SesEventBody,
  context: {
    sender: string;
    configurationSetName: string;
    now: Date;
    messageId: string;
    subject: string;
  },
) {
  const { email } = body;
  const at = context.now.toISOString();
  const senderDomain = context.sender.split('@')[1] ?? '';
  const feedbackId = `${randomUUID()}-000000`;
  const mail = {
    timestamp: new Date(context.now.getTime() - 60_000).toISOString(),
    source: context.sender,
    sourceArn: `arn:aws:ses:${process.env.AWS_REGION ?? 'local'}:000000000000:identity/${senderDomain}`,
    sendingAccountId: '000000000000',
    messageId: context.messageId,
    destination: [email],
    headersTruncated: false,
    headers: [
      { name: 'From', value: context.sender },
      { name: 'To', value: email },
      { name: 'Subject', value: context.subject },
      { name: 'MIME-Version', value: '1.0' },
    ],
    commonHeaders: {
      from: [context.sender],
      to: [email],
      messageId: context.messageId,
      subject: context.subject,
    },
    tags: {
      'ses:configuration-set': [context.configurationSetName],
      'ses:source-ip': ['127.0.0.1'],
      'ses:from-domain': [senderDomain],
      'ses:caller-identity': ['tokenwatch-local'],
    },
  };
  if (body.type === 'Bounce') {
    return {
      eventType: 'Bounce',
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [
          {
            emailAddress: email,
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
        timestamp: at,
        feedbackId,
        reportingMTA: 'dsn; localhost',
      },
      mail,
    };
  }
  return {
    eventType: 'Complaint',
    complaint: {
      complainedRecipients: [{ emailAddress: email }],
      timestamp: at,
      feedbackId,
      userAgent: 'tokenwatch-local',
      complaintFeedbackType: 'abuse',
      arrivalDate: at,
    },
    mail,
  };
}

/**
 * Validates the body, puts the event on the local default bus and waits until the feedback
 * queue has handled it. Answers as the local endpoints do: 200 with what happened, or 400.
 */
export async function deliverSesEvent(
  text: string,
  deps: {
    sender: string;
    configurationSetName: string;
    lastMessageTo: LastMessageTo;
    drained: () => Promise<{ delivered: number; deleted: number; deadLettered: number }>;
  },
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  let input: unknown;
  try {
    input = JSON.parse(text || '{}');
  } catch {
    input = undefined;
  }
  const parsed = sesEventBody.safeParse(input);
  if (!parsed.success) {
    return {
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({
        type: 'about:blank',
        title: 'Bad SES event',
        status: 400,
        detail:
          'The body must be {"type": "Bounce" | "Complaint", "email": "<address>"}, e.g. ' +
          '{"type": "Bounce", "email": "owner@example.com"}.',
      }),
    };
  }
  const detailType =
    parsed.data.type === 'Bounce'
      ? sesFeedbackDetailTypes.bounce
      : sesFeedbackDetailTypes.complaint;
  const detail = sesFeedbackDetail(parsed.data, {
    sender: deps.sender,
    configurationSetName: deps.configurationSetName,
    now: new Date(),
    ...(await deps.lastMessageTo(parsed.data.email)),
  });
  const events = new EventBridgeClient({});
  try {
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'default',
            Source: sesEventSource,
            DetailType: detailType,
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    const queue = await deps.drained();
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: put.Entries?.[0]?.EventId, detailType, queue }),
    };
  } finally {
    events.destroy();
  }
}

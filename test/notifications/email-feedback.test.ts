/**
 * SES's bounces and complaints through record-email-feedback: the documents are the AWS
 * documentation's own example events (test/fixtures/ses), with only the recipient changed, fed
 * to the real handler as the feedback queue delivers them.
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { addressHash } from '#people/suppression';
import { recordFeedbackFromQueue, sesFeedbackEnvelope } from '#notifications/email-feedback';
import { feedbackRulePattern } from '#notifications/feedback-rule';
import { matches } from '../../local/eventbridge';
import { useTestTable, type TestTable } from '../support/table';
import { recordingLog } from '../support/notifier-harness';
import { captureOutput } from '../support/api-environment';

let table: TestTable;
useTestTable((created) => (table = created));
let handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  process.env.TABLE_NAME = table.tableName;
  vi.resetModules();
  ({ handler } = await import('../../functions/record-email-feedback'));
});
const output: string[] = [];
beforeEach(() => {
  output.length = 0;
  captureOutput(output);
});

type Fixture = Record<string, unknown> & { detail: Record<string, unknown> };
const fixture = (name: 'email-bounced' | 'email-complaint-received'): Fixture =>
  JSON.parse(
    readFileSync(new URL(`../fixtures/ses/${name}.json`, import.meta.url), 'utf8'),
  ) as Fixture;
const exampleRecipient = 'recipient@example.com';

/** The documentation's example event, about `address` instead of its recipient. */
const sesEvent = (
  name: 'email-bounced' | 'email-complaint-received',
  address: string,
  change: (event: Fixture) => void = () => undefined,
) => {
  const event = JSON.parse(
    JSON.stringify(fixture(name)).replaceAll(exampleRecipient, address),
  ) as Fixture;
  change(event);
  return event;
};

const bounceOf = (event: Fixture) => event.detail.bounce as Record<string, unknown>;
const uniqueAddress = () => `reader-${randomUUID().slice(0, 8)}@mail.example.org`;
const record = (body: unknown, receiveCount = 1) => ({
  messageId: randomUUID(),
  receiptHandle: 'r',
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: { ApproximateReceiveCount: String(receiveCount) },
});
const sqs = (...records: ReturnType<typeof record>[]) =>
  ({ Records: records }) as unknown as SQSEvent;

describe('the feedback rule on the default bus', () => {
  it("takes the documentation's bounce and complaint sent with this stage's configuration set, and nothing else", () => {
    const pattern = feedbackRulePattern('ConfigSet');
    expect(matches(pattern, fixture('email-bounced'))).toBe(true);
    expect(matches(pattern, fixture('email-complaint-received'))).toBe(true);
    expect(matches(feedbackRulePattern('another-stage'), fixture('email-bounced'))).toBe(false);
    const delivered = { ...fixture('email-bounced'), 'detail-type': 'Email Delivered' };
    expect(matches(pattern, delivered)).toBe(false);
  });

  it("reads the documentation's examples as they are", () => {
    expect(sesFeedbackEnvelope.safeParse(fixture('email-bounced')).success).toBe(true);
    expect(sesFeedbackEnvelope.safeParse(fixture('email-complaint-received')).success).toBe(true);
  });
});

describe('record-email-feedback', () => {
  it('suppresses an address SES reports as a permanent bounce', async () => {
    const address = uniqueAddress();
    const result = await handler(sqs(record(sesEvent('email-bounced', address))));
    expect(result.batchItemFailures).toEqual([]);
    expect(await table.store.emailStatusOf(address)).toBe('bounced');
    // Its log lines name the domain, never the address.
    expect(output.join('')).toContain('mail.example.org');
    expect(output.join('')).not.toContain(address);
  });

  it('only counts a transient bounce: the address still gets email', async () => {
    const address = uniqueAddress();
    const transient = sesEvent('email-bounced', address, (event) => {
      Object.assign(bounceOf(event), { bounceType: 'Transient', bounceSubType: 'MailboxFull' });
    });
    const undetermined = sesEvent('email-bounced', address, (event) => {
      Object.assign(bounceOf(event), {
        bounceType: 'Undetermined',
        bounceSubType: 'Undetermined',
        feedbackId: 'another-feedback-id',
      });
    });
    expect((await handler(sqs(record(transient), record(undetermined)))).batchItemFailures).toEqual(
      [],
    );
    expect(await table.store.emailStatusOf(address)).toBe('ok');
    const [item] = await table
      .itemsMentioning(addressHash(address))
      .then((items) => items.filter((item) => item.sk === 'ADDRESS'));
    expect(item).toMatchObject({ softBounces: 2 });
  });

  it('suppresses an address whose reader complained', async () => {
    const address = uniqueAddress();
    await handler(sqs(record(sesEvent('email-complaint-received', address))));
    expect(await table.store.emailStatusOf(address)).toBe('complained');
  });

  it('counts an event delivered twice once', async () => {
    const address = uniqueAddress();
    const transient = sesEvent('email-bounced', address, (event) => {
      Object.assign(bounceOf(event), { bounceType: 'Transient', feedbackId: randomUUID() });
    });
    const log = recordingLog();
    const first = await recordFeedbackFromQueue([record(transient)], { store: table.store, log });
    const again = await recordFeedbackFromQueue([record(transient)], { store: table.store, log });
    expect(first.totals).toMatchObject({ 'soft-bounce': 1, duplicates: 0 });
    expect(again.totals).toMatchObject({ 'soft-bounce': 0, duplicates: 1 });
    expect(again.batchItemFailures).toEqual([]);
    const [item] = (await table.itemsMentioning(addressHash(address))).filter(
      (stored) => stored.sk === 'ADDRESS',
    );
    expect(item).toMatchObject({ softBounces: 1 });
  });

  it('fails a malformed message alone, counts it once, and still records the rest of the batch', async () => {
    const good = uniqueAddress();
    const noType = sesEvent('email-bounced', uniqueAddress(), (event) => {
      delete bounceOf(event).bounceType;
    });
    const noRecipients = sesEvent('email-complaint-received', uniqueAddress(), (event) => {
      (event.detail.complaint as Record<string, unknown>).complainedRecipients = [];
    });
    const delivery = { ...fixture('email-bounced'), 'detail-type': 'Email Delivered' };
    const bad = [record('{"not json'), record(noType), record(noRecipients), record(delivery, 3)];
    const log = recordingLog();
    const result = await recordFeedbackFromQueue(
      [bad[0], record(sesEvent('email-bounced', good)), ...bad.slice(1)].filter(
        (entry) => entry !== undefined,
      ),
      { store: table.store, log },
    );
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      bad.map((entry) => entry.messageId).sort(),
    );
    // The one received for the third time was counted on its first receive.
    expect(result.totals).toMatchObject({ poison: 3, 'hard-bounce': 1 });
    expect(await table.store.emailStatusOf(good)).toBe('bounced');
  });

  it('logs the domain of an address, never the address', async () => {
    const address = uniqueAddress();
    const log = recordingLog();
    await recordFeedbackFromQueue([record(sesEvent('email-complaint-received', address))], {
      store: table.store,
      log,
    });
    const logged = JSON.stringify(log.lines);
    expect(logged).toContain('mail.example.org');
    expect(logged).not.toContain(address);
    expect(logged).not.toContain(address.split('@')[0]);
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildOptionsOf } from '../../lib/bundling';
import fc from 'fast-check';
import {
  createEmailRenderer,
  formatInstant,
  formatTimeLeft,
  templateNames,
  type DigestEmailData,
  type DigestNotice,
  type EmailData,
  type ExpiredTokenEmailData,
  type ExpiringTokenEmailData,
  type ReconnectedEmailData,
  type ReminderEmailData,
} from '#notifications/emails';
import {
  sampleDeveloperDigestEmailData,
  sampleDigestEmailData,
  sampleEmailData,
  sampleExpiringEmailData,
  sampleReconnectedEmailData,
  sampleReminderEmailData,
} from '#notifications/email-samples';
import { kindOfTemplate } from '#notifications/occasions';
import { emailLinks } from '#notifications/email-links';
import type { ViewFields, ViewOf } from '#notifications/email-model';
import { tokenCause, type TokenCause } from '#tokens/lifecycle';
import { compiledTemplates } from '#notifications/email-templates.generated';
import {
  compileTemplateSources,
  generatedFile,
  handlebarsTemplates,
  readTemplateSources,
  renderGeneratedModule,
  templatesDirectory,
  TemplateError,
} from '../../scripts/email-templates';

const renderer = createEmailRenderer();
const owner = (data: Partial<ExpiredTokenEmailData> = {}) =>
  renderer.render('expired-owner', { ...sampleEmailData, ...data });
const developer = (data: Partial<ExpiredTokenEmailData> = {}) =>
  renderer.render('expired-developer', {
    ...sampleEmailData,
    actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
    ...data,
  });

describe('the expired-token emails', () => {
  it('have distinct one-line subjects naming the account', () => {
    const subjects = [owner().subject, developer().subject];
    expect(new Set(subjects).size).toBe(2);
    for (const subject of subjects) {
      expect(subject).toContain('@ann.bakery');
      expect(subject).not.toMatch(/[\r\n]/);
    }
  });

  it('tell the owner which account lost its connection, what stops working, and where to reconnect', () => {
    for (const body of [owner().text, owner().html]) {
      expect(body).toContain('@ann.bakery');
      expect(body).toMatch(/widget stops updating/);
      expect(body).toMatch(/images already shown may stop loading/);
      expect(body).toContain('https://app.example.com/instagram-accounts');
      expect(body).toContain('https://app.example.com/settings#notifications');
      expect(body).toContain('25 November 2026 at 12:00 UTC');
    }
  });

  it('tell a developer whose account it is, why they get it, where Refresh token is, and what a reconnect needs', () => {
    for (const body of [developer().text, developer().html]) {
      expect(body).toContain("client's Instagram account");
      expect(body).toContain('@ann.bakery');
      expect(body).toMatch(
        /opted in to expired token notifications as a developer of @ann\.bakery/,
      );
      expect(body).toMatch(/Refresh token/);
      expect(body).toMatch(/client's Instagram\s+credentials,\s+or a role on the Facebook page/);
      expect(body).toContain('https://app.example.com/settings#notifications');
    }
    expect(developer().text).toContain(
      'https://app.example.com/instagram-accounts?account=17841400000000001',
    );
  });

  it('write an instant exactly as Intl writes it in en-GB, in UTC', () => {
    const intl = new Intl.DateTimeFormat('en-GB', {
      dateStyle: 'long',
      timeStyle: 'short',
      timeZone: 'UTC',
    });
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2099-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (instant) => {
          expect(formatInstant(instant.toISOString())).toBe(`${intl.format(instant)} UTC`);
        },
      ),
      { numRuns: 2000 },
    );
    expect(() => formatInstant('not a date')).toThrow(RangeError);
  });

  it('say so when the token was invalidated rather than expired', () => {
    expect(owner({ reason: 'invalid' }).text).toMatch(/no longer accepts its access token/);
    expect(owner({ reason: 'invalid' }).text).not.toMatch(/expired on/);
    expect(owner().text).not.toMatch(/no longer accepts/);
  });

  describe('say per cause what happened and the one thing that fixes it', () => {
    const invalid = (cause: TokenCause) => ({ reason: 'invalid' as const, cause });
    const both = (email: { text: string; html: string }) => [email.text, email.html];

    it('a changed password: the owner reconnects with the new password; the developer asks the client', () => {
      const forOwner = owner(invalid('password-changed'));
      expect(forOwner.subject).toMatch(/password of @ann\.bakery was changed/);
      for (const body of both(forOwner)) {
        expect(body).toMatch(/password of @ann\.bakery was changed/);
        expect(body).toMatch(/new password/);
        expect(body).not.toMatch(/expired on/);
      }
      const forDeveloper = developer(invalid('password-changed'));
      expect(forDeveloper.subject).toMatch(/your client must reconnect it/);
      for (const body of both(forDeveloper)) {
        expect(body).toMatch(/password of @ann\.bakery was changed/);
        expect(body).toMatch(/ask your client to reconnect @ann\.bakery/);
      }
    });

    it('the app removed: both are told a reconnect is needed, and who may have removed it', () => {
      for (const body of both(owner(invalid('app-removed')))) {
        expect(body).toMatch(
          /removed your widget's access to @ann\.bakery in Instagram's settings/,
        );
        expect(body).toMatch(/allow access/);
        expect(body).toMatch(/on purpose, you can ignore this email/);
      }
      for (const body of both(developer(invalid('app-removed')))) {
        expect(body).toMatch(/removed the app's access/);
        expect(body).toMatch(/only after a reconnect/);
        expect(body).toMatch(/client's Instagram\s+credentials/);
      }
    });

    it('a checkpoint: the owner logs in to Instagram once first; the developer can reconnect only after the client did', () => {
      const forOwner = owner(invalid('checkpoint'));
      expect(forOwner.subject).toMatch(/log in to @ann\.bakery/);
      for (const body of both(forOwner)) {
        expect(body).toMatch(/security check/);
        expect(body).toMatch(/Log in to Instagram as @ann\.bakery once/);
        expect(body).toMatch(/Then reconnect @ann\.bakery/);
      }
      const forDeveloper = developer(invalid('checkpoint'));
      expect(forDeveloper.subject).toMatch(/Your client must log in to Instagram/);
      for (const body of both(forDeveloper)) {
        expect(body).toMatch(/ask them to log in to Instagram as @ann\.bakery once/);
        expect(body).toMatch(/reconnect it only after\s+that/);
      }
    });

    it('a session Instagram ended: both are told to reconnect', () => {
      for (const body of both(owner(invalid('session-invalidated')))) {
        expect(body).toMatch(/no longer accepts its access token/);
        expect(body).toMatch(/Reconnect/);
      }
      for (const body of both(developer(invalid('session-invalidated')))) {
        expect(body).toMatch(/no longer accepts its access token/);
        expect(body).toMatch(/A token Instagram refused cannot simply be refreshed/);
      }
    });

    it('each cause has its own subject for each audience, and only expired names the expiry', () => {
      for (const render of [owner, developer]) {
        const subjects = tokenCause.options.map(
          (cause) => render({ reason: cause === 'expired' ? 'expired' : 'invalid', cause }).subject,
        );
        expect(new Set(subjects).size).toBe(tokenCause.options.length);
        for (const cause of tokenCause.options.filter((c) => c !== 'expired'))
          expect(render(invalid(cause)).text).not.toMatch(/expired on/);
      }
      expect(owner({ cause: 'expired' }).text).toContain('expired on 25 November 2026');
    });
  });

  it('escape what a user typed in the HTML, and keep the plain text readable', () => {
    const email = owner({ name: '<script>alert("x")</script> & Co' });
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html).toContain('&amp; Co');
    expect(email.text).toContain('Hi <script>alert("x")</script> & Co,');
  });

  it('refuse to render with a field missing instead of sending a gap', () => {
    const withoutUnsubscribe = { ...sampleEmailData, unsubscribeUrl: undefined };
    expect(() =>
      renderer.render('expired-owner', withoutUnsubscribe as unknown as ExpiredTokenEmailData),
    ).toThrow(/expired-owner email: unsubscribeUrl is missing/);
  });

  it('fail at build time, naming the template and line, when a template is broken or names a field the view lacks', () => {
    const sources = readTemplateSources();
    const withTemplate = (
      name: 'expired-owner' | 'expired-developer',
      part: 'html' | 'text',
      source: string,
    ) => ({
      ...sources,
      [name]: { ...sources[name], [part]: source },
    });
    expect(() =>
      renderGeneratedModule(
        withTemplate('expired-developer', 'html', '{{#if invalid}}never closed'),
      ),
    ).toThrow(/templates\/expired-developer\.html\.hbs/);
    expect(() =>
      renderGeneratedModule(withTemplate('expired-owner', 'text', 'Hi\n{{noSuchField}}')),
    ).toThrow(
      /templates\/expired-owner\.text\.hbs:2: \{\{noSuchField\}\} is not a field of the email view/,
    );
    for (const unsupported of [
      '{{#each accounts}}{{this}}{{/each}}',
      '{{lookup name "x"}}',
      '{{> footer}}',
      '{{@root.name}}',
      '{{../name}}',
      '{{name.length}}',
      '{{{name}}}',
      '{{&name}}',
      '{{#if invalid name}}x{{/if}}',
    ]) {
      expect(() =>
        renderGeneratedModule(withTemplate('expired-owner', 'html', unsupported)),
      ).toThrow(TemplateError);
    }
  });

  it('are compiled from the templates as they are now (npm run templates)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(renderGeneratedModule());
  });

  it('render exactly what Handlebars itself renders from the same templates', () => {
    const reference = createEmailRenderer(handlebarsTemplates());
    const preview = createEmailRenderer(compileTemplateSources());
    const hostile = `<b>"Ann" & 'Bob'</b> \`=x\` {{name}}`;
    const cases: ExpiredTokenEmailData[] = [
      sampleEmailData,
      { ...sampleEmailData, reason: 'invalid' },
      { ...sampleEmailData, name: hostile, actionUrl: 'https://app.example.com/a?b=1&c="2"' },
      { ...sampleEmailData, reason: 'invalid', name: hostile, unsubscribeUrl: hostile },
    ];
    const warningCases: ExpiringTokenEmailData[] = [
      sampleExpiringEmailData,
      { ...sampleExpiringEmailData, writtenAt: '2026-11-24T16:00:00.000Z' },
      {
        ...sampleExpiringEmailData,
        name: hostile,
        actionUrl: 'https://app.example.com/a?b=1&c="2"',
      },
      { ...sampleExpiringEmailData, name: hostile, unsubscribeUrl: hostile },
    ];
    const reminderCases: ReminderEmailData[] = [
      ...tokenCause.options.map((cause) => ({
        ...sampleReminderEmailData,
        reason: cause === 'expired' ? ('expired' as const) : ('invalid' as const),
        cause,
      })),
      { ...sampleReminderEmailData, daysSince: 28, last: true },
      {
        ...sampleReminderEmailData,
        reason: 'invalid',
        cause: 'checkpoint',
        daysSince: 28,
        last: true,
      },
      {
        ...sampleReminderEmailData,
        name: hostile,
        actionUrl: 'https://app.example.com/a?b=1&c="2"',
      },
      { ...sampleReminderEmailData, name: hostile, unsubscribeUrl: hostile },
    ];
    const reconnectedCases: ReconnectedEmailData[] = [
      sampleReconnectedEmailData,
      { ...sampleReconnectedEmailData, username: '' },
      { ...sampleReconnectedEmailData, name: hostile, actionUrl: hostile },
    ];
    const [firstNotice, secondNotice] = sampleDeveloperDigestEmailData.notices;
    const digestCases: DigestEmailData[] = [
      sampleDeveloperDigestEmailData,
      { ...sampleDeveloperDigestEmailData, name: hostile, unsubscribeUrl: hostile },
      {
        ...sampleDeveloperDigestEmailData,
        accountsUrl: 'https://app.example.com/a?b=1&c="2"',
        notices: sampleDeveloperDigestEmailData.notices.map((notice) => ({
          ...notice,
          username: hostile,
          actionUrl: hostile,
          reconnectLinkUrl: hostile,
        })),
      },
      ...(firstNotice && secondNotice
        ? [
            {
              ...sampleDeveloperDigestEmailData,
              notices: [firstNotice, { ...secondNotice, username: firstNotice.username }],
            },
          ]
        : []),
    ];
    const casesOf = {
      expired: cases,
      expiring: warningCases,
      reminder: reminderCases,
      reconnected: reconnectedCases,
      digest: digestCases,
    };
    for (const template of templateNames) {
      const casesOfKind: EmailData[] = casesOf[kindOfTemplate(template)];
      for (const data of casesOfKind) {
        expect(renderer.render(template, data)).toEqual(reference.render(template, data));
        expect(preview.render(template, data)).toEqual(reference.render(template, data));
      }
    }
  });

  it('carry no template engine into the notifier bundle', async () => {
    const result = await build({
      ...esbuildOptionsOf(),
      entryPoints: [
        fileURLToPath(new URL('../../functions/notify-expired-token.ts', import.meta.url)),
      ],
      outdir: join(tmpdir(), 'tokenwatch-bundle-check'),
      write: false,
      metafile: true,
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('functions/notifications/email-templates.generated.ts');
    expect(inputs.filter((path) => path.includes('node_modules/handlebars/'))).toEqual([]);
  });
});

describe('the warning emails (a token about to expire)', () => {
  const warnOwner = (data: Partial<ExpiringTokenEmailData> = {}) =>
    renderer.render('expiring-owner', { ...sampleExpiringEmailData, ...data });
  const warnDeveloper = (data: Partial<ExpiringTokenEmailData> = {}) =>
    renderer.render('expiring-developer', {
      ...sampleExpiringEmailData,
      actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
      ...data,
    });
  /** The text body, and the HTML body's words as a reader sees them: no tags, one space. */
  const both = (email: { text: string; html: string }) =>
    [email.text, email.html.replace(/<[^>]*>/g, ' ')].map((body) =>
      body.replace(/\s+/g, ' ').replace(/ ([,.:;])/g, '$1'),
    );

  it('have one-line subjects of their own, naming the account and how long is left', () => {
    const subjects = [warnOwner().subject, warnDeveloper().subject];
    expect(new Set([...subjects, owner().subject, developer().subject]).size).toBe(4);
    for (const subject of subjects) {
      expect(subject).toContain('@ann.bakery');
      expect(subject).toContain('in 6 days');
      expect(subject).not.toMatch(/[\r\n]/);
    }
    expect(warnDeveloper().subject).toMatch(/^\[Developer\]/);
  });

  it('tell the owner what is about to happen, when, why, and the one thing to do', () => {
    for (const body of both(warnOwner())) {
      expect(body).toMatch(/@ann\.bakery will lose its connection to your widgets/);
      // When: the time really left, and the date.
      expect(body).toMatch(/in 6 days, on 25 November 2026 at 12:00 UTC/);
      // Why: the automatic renewal did not work.
      expect(body).toMatch(/renew access tokens automatically/);
      expect(body).toMatch(/Instagram has not allowed it so far/);
      expect(body).toMatch(/widget stops updating/);
      // What to do, by when, and where.
      expect(body).toMatch(/Reconnect @ann\.bakery before 25 November 2026 at 12:00 UTC/);
      expect(body).not.toMatch(/expired on|has lost its connection/);
    }
    const email = warnOwner();
    for (const body of [email.text, email.html]) {
      expect(body).toContain('https://app.example.com/instagram-accounts');
      expect(body).toContain('https://app.example.com/settings#notifications');
    }
    expect(email.html).toContain('href="https://app.example.com/instagram-accounts"');
  });

  it('tell a developer to ask the client to reconnect, or to reconnect themselves if they can log in', () => {
    for (const body of both(warnDeveloper())) {
      expect(body).toContain("client's Instagram account");
      expect(body).toMatch(/in 6 days, on 25 November 2026 at 12:00 UTC/);
      expect(body).toMatch(/Instagram has not allowed it so far/);
      expect(body).toMatch(/ask your client to reconnect @ann\.bakery/);
      expect(body).toMatch(/if you can log in to Instagram as @ann\.bakery yourself/);
      expect(body).toMatch(
        /opted in to expired token notifications as a developer of @ann\.bakery/,
      );
    }
    expect(warnDeveloper().text).toContain(
      'https://app.example.com/instagram-accounts?account=17841400000000001',
    );
  });

  it('say how long is really left when the email is written, not the warning step', () => {
    const oneDayStep = { writtenAt: '2026-11-24T16:00:00.000Z' };
    expect(warnOwner(oneDayStep).subject).toContain('disconnects in 20 hours');
    expect(warnOwner(oneDayStep).text).toMatch(/in 20 hours, on 25 November 2026/);
    expect(warnDeveloper({ writtenAt: '2026-11-24T09:00:00.000Z' }).text).toMatch(
      /tomorrow, on 25 November 2026/,
    );
  });

  it('write the time left in whole days and hours, never more than is left', () => {
    const expiry = '2026-11-25T12:00:00.000Z';
    const before = (hours: number, minutes = 0) =>
      formatTimeLeft(
        expiry,
        new Date(Date.parse(expiry) - (hours * 60 + minutes) * 60_000).toISOString(),
      );
    expect(before(7 * 24)).toBe('in 7 days');
    expect(before(6 * 24 + 23, 59)).toBe('in 6 days');
    expect(before(48)).toBe('in 2 days');
    // A day and more, on the next date (in UTC, as the date is written): tomorrow.
    expect(before(36)).toBe('tomorrow');
    expect(before(24)).toBe('tomorrow');
    expect(before(47, 59)).toBe('in 47 hours');
    // A day and more, but two dates later: "tomorrow" would not match the date beside it.
    expect(formatTimeLeft('2026-11-25T01:00:00.000Z', '2026-11-23T22:00:00.000Z')).toBe(
      'in 27 hours',
    );
    expect(before(23, 59)).toBe('in 23 hours');
    expect(before(20)).toBe('in 20 hours');
    expect(before(1)).toBe('in 1 hour');
    expect(before(0, 59)).toBe('in less than an hour');
    expect(() => formatTimeLeft('soon', expiry)).toThrow(RangeError);
  });

  it('refuse to render a warning without the instant it is written at', () => {
    const withoutInstant = { ...sampleExpiringEmailData, writtenAt: undefined };
    expect(() =>
      renderer.render('expiring-owner', withoutInstant as unknown as ExpiringTokenEmailData),
    ).toThrow(/expiring-owner email: writtenAt is missing/);
  });
});

describe('the reminders (a lost token still lost)', () => {
  const remindOwner = (data: Partial<ReminderEmailData> = {}) =>
    renderer.render('reminder-owner', { ...sampleReminderEmailData, ...data });
  const remindDeveloper = (data: Partial<ReminderEmailData> = {}) =>
    renderer.render('reminder-developer', {
      ...sampleReminderEmailData,
      actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
      ...data,
    });
  const invalid = (cause: TokenCause) => ({ reason: 'invalid' as const, cause });
  /** The text body, and the HTML body's words as a reader sees them: no tags, one space. */
  const both = (email: { text: string; html: string }) =>
    [email.text, email.html.replace(/<[^>]*>/g, ' ')].map((body) =>
      body.replace(/\s+/g, ' ').replace(/ ([,.:;])/g, '$1'),
    );

  it('have one-line subjects of their own: a reminder, the account, and how long the widget has not updated', () => {
    expect(remindOwner().subject).toBe(
      "Reminder: @ann.bakery is still disconnected — your widget hasn't updated for 7 days",
    );
    expect(remindDeveloper().subject).toBe(
      "[Developer] Reminder: your client's Instagram account @ann.bakery is still disconnected — its widgets haven't updated for 7 days",
    );
    const subjects = [remindOwner().subject, remindDeveloper().subject];
    expect(new Set([...subjects, owner().subject, developer().subject]).size).toBe(4);
    for (const subject of subjects) expect(subject).not.toMatch(/[\r\n]/);
  });

  it('tell the owner the account is still disconnected since its expiry, for how long, and the one thing to do', () => {
    for (const body of both(remindOwner())) {
      expect(body).toMatch(
        /@ann\.bakery is still disconnected: its access token expired on 25 November 2026 at 12:00 UTC/,
      );
      expect(body).toMatch(/your widget hasn't updated for 7 days now/);
      expect(body).toMatch(/new posts from @ann\.bakery do not appear/);
      expect(body).toMatch(/sign in to Instagram again when asked/);
      expect(body).not.toMatch(/last reminder/);
    }
    const email = remindOwner();
    for (const body of [email.text, email.html]) {
      expect(body).toContain('https://app.example.com/instagram-accounts');
      expect(body).toContain('https://app.example.com/settings#notifications');
    }
    expect(email.html).toContain('href="https://app.example.com/instagram-accounts"');
  });

  it('say for a token Instagram refused how many days it has been, and its cause as the expired email says it', () => {
    for (const cause of tokenCause.options.filter((c) => c !== 'expired')) {
      for (const [reminder, expired] of [
        [remindOwner(invalid(cause)), owner(invalid(cause))],
        [remindDeveloper(invalid(cause)), developer(invalid(cause))],
      ] as const) {
        const [text, html] = both(reminder);
        expect(text).toMatch(
          /is still disconnected, and (your widget hasn't|its widgets haven't) updated for 7 days now/,
        );
        expect(text).not.toMatch(/expired on/);
        // The line after the first says what happened, word for word as the expired email does.
        const lines = reminder.text.split('\n');
        const said = lines[lines.findIndex((line) => line.includes('still disconnected')) + 1];
        expect(said, cause).toMatch(/^(The password|Someone removed|Instagram) .{40,}\.$/);
        expect(expired.text).toContain(`\n${said}\n`);
        expect(html).toContain(said);
      }
    }
  });

  it('give per cause the one thing to do: the owner reconnects, the developer asks the client or reconnects if they can log in', () => {
    expect(both(remindOwner(invalid('password-changed')))[0]).toMatch(
      /sign in to Instagram with the new password/,
    );
    expect(both(remindOwner(invalid('checkpoint')))[0]).toMatch(
      /Log in to Instagram as @ann\.bakery once.*Then reconnect @ann\.bakery/,
    );
    expect(both(remindOwner(invalid('app-removed')))[0]).toMatch(
      /allow access when Instagram asks/,
    );
    for (const cause of tokenCause.options) {
      const data = cause === 'expired' ? {} : invalid(cause);
      for (const body of both(remindDeveloper(data))) {
        expect(body).toMatch(
          /ask (your client|them) to (reconnect|log in to Instagram as) @ann\.bakery/,
        );
        expect(body).toMatch(
          /if you can log in to Instagram as @ann\.bakery yourself, reconnect it/,
        );
        expect(body).toMatch(/Refresh token/);
        expect(body).toMatch(
          /opted in to expired token notifications as a developer of @ann\.bakery; they include these reminders/,
        );
      }
    }
    expect(remindDeveloper().text).toContain(
      'https://app.example.com/instagram-accounts?account=17841400000000001',
    );
  });

  it('say the days of the step, and at the last step that it is the last reminder', () => {
    expect(remindOwner({ daysSince: 3 }).subject).toContain("hasn't updated for 3 days");
    expect(remindOwner({ daysSince: 14 }).text).toContain("hasn't updated for 14 days now");
    for (const render of [remindOwner, remindDeveloper]) {
      const last = render({ daysSince: 28, last: true });
      expect(last.subject).toMatch(/^(\[Developer\] )?Last reminder: /);
      for (const body of both(last)) {
        expect(body).toMatch(
          /This is the last reminder we'll send about it: @ann\.bakery stays disconnected/,
        );
      }
      for (const daysSince of [3, 7, 14]) {
        const earlier = render({ daysSince });
        expect(earlier.subject).toMatch(/^(\[Developer\] )?Reminder: /);
        expect(earlier.text).not.toMatch(/last reminder/i);
      }
    }
  });

  it('refuse to render a reminder without its step', () => {
    for (const daysSince of [undefined, 0, 2.5]) {
      expect(() =>
        renderer.render('reminder-owner', {
          ...sampleReminderEmailData,
          daysSince,
        } as unknown as ReminderEmailData),
      ).toThrow(/reminder-owner email: daysSince is missing/);
    }
  });
});

describe('the email templates', () => {
  it('are one per template name of occasions.ts, each with a subject, an HTML and a text part', () => {
    expect(Object.keys(compiledTemplates)).toEqual([...templateNames]);
    for (const name of templateNames) {
      expect(Object.keys(compiledTemplates[name])).toEqual(['subject', 'html', 'text']);
    }
  });

  /** templates/ as it is, copied to a directory of its own, with `change` made, then read. */
  const readChanged = (change: (directory: string) => void) => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-templates-'));
    try {
      cpSync(templatesDirectory, directory, { recursive: true });
      change(directory);
      return readTemplateSources(`${directory}/`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  };

  it('refuse, naming the file, a template for no known name or part, and a known one missing a part', () => {
    expect(() =>
      readChanged((directory) => {
        writeFileSync(join(directory, 'owner.html.hbs'), 'Hi');
      }),
    ).toThrow(
      /owner\.html\.hbs: owner is not a template \(expired-owner, expired-developer, expiring-owner, expiring-developer, reminder-owner, reminder-developer, reconnected-creator, digest-owner, digest-developer\)/,
    );
    expect(() =>
      readChanged((directory) => {
        writeFileSync(join(directory, 'expired-owner.body.hbs'), 'Hi');
      }),
    ).toThrow(/expired-owner\.body\.hbs: body is not a part of an email \(subject, html, text\)/);
    expect(() =>
      readChanged((directory) => {
        writeFileSync(join(directory, 'expired.hbs'), 'Hi');
      }),
    ).toThrow(/expired\.hbs: a template file is named <template>\.<part>\.hbs/);
    expect(() =>
      readChanged((directory) => {
        rmSync(join(directory, 'expired-developer.text.hbs'));
      }),
    ).toThrow(/expired-developer\.text\.hbs is missing/);
    expect(readChanged(() => undefined)).toEqual(readTemplateSources());
  });
});

describe('a template that lists several accounts ({{#each}})', () => {
  // A test-only template (test/fixtures/templates/), with fields of its own, nested lists too.
  const digestFields = {
    name: 'text',
    accounts: {
      list: {
        username: 'text',
        invalid: 'flag',
        expiredOn: 'text',
        reconnectUrl: 'text',
        people: { list: { name: 'text' } },
      },
    },
    preferencesUrl: 'text',
  } as const satisfies ViewFields;
  type DigestView = ViewOf<typeof digestFields>;
  const fixtures = fileURLToPath(new URL('../fixtures/templates/', import.meta.url));
  const sources = readTemplateSources(fixtures, ['digest-owner'] as const);
  const compiled = compileTemplateSources(sources, { directory: fixtures, fields: digestFields });
  const reference = handlebarsTemplates(sources);
  const hostile = `<b>"Ann" & 'Bob'</b> \`=x\` {{name}}`;
  const account = (username: string, invalid: boolean) => ({
    username,
    invalid,
    expiredOn: '25 November 2026 at 12:00 UTC',
    reconnectUrl: `https://app.example.com/reconnect?account=${username}&x="1"`,
    people: [{ name: 'Bob' }, { name: hostile }],
  });
  const views: DigestView[] = [
    {
      name: 'Ann',
      accounts: [account('ann.bakery', false), account('ann.cafe', true)],
      preferencesUrl: 'https://app.example.com/settings#notifications',
    },
    { name: hostile, accounts: [], preferencesUrl: hostile },
    {
      name: 'Ann',
      accounts: [{ ...account(hostile, true), people: [] }],
      preferencesUrl: 'https://app.example.com/settings',
    },
  ];

  it('has a precise view type: a list field is a list of its items', () => {
    expectTypeOf<DigestView['accounts'][number]['people'][number]>().toEqualTypeOf<{
      readonly name: string;
    }>();
    expectTypeOf<DigestView['accounts'][number]['invalid']>().toEqualTypeOf<boolean>();
    expectTypeOf<DigestView['name']>().toEqualTypeOf<string>();
  });

  it('renders exactly what Handlebars itself renders, {{field}} and {{this.field}} alike', () => {
    for (const view of views) {
      for (const part of ['subject', 'html', 'text'] as const) {
        expect(compiled['digest-owner'][part](view)).toBe(reference['digest-owner'][part](view));
      }
    }
    const [first] = views;
    if (!first) throw new Error('no view');
    const html = compiled['digest-owner'].html(first);
    expect(html).toContain('<strong>@ann.bakery</strong>');
    expect(html).toContain('its token expired on 25 November 2026 at 12:00 UTC.');
    expect(html).toContain('<strong>@ann.cafe</strong>');
    expect(html).toContain('Instagram no longer accepts its token.');
    expect(html).toContain('&lt;b&gt;&quot;Ann&quot;');
    expect(html).not.toContain('<b>');
    expect(compiled['digest-owner'].text(first)).toContain('<b>"Ann" & \'Bob\'</b>');
    expect(compiled['digest-owner'].subject(first)).toBe(
      '@ann.bakery @ann.cafe need reconnecting\n',
    );
  });

  it("refuses, naming the template and line, what Handlebars would not render from the item's fields", () => {
    const compile = (html: string) => () =>
      compileTemplateSources(
        { 'digest-owner': { ...sources['digest-owner'], html } },
        { directory: fixtures, fields: digestFields },
      );
    expect(compile('\n{{#each accounts}}{{preferencesUrl}}{{/each}}')).toThrow(
      /fixtures\/templates\/digest-owner\.html\.hbs:2: \{\{preferencesUrl\}\} is not a field of an item of accounts \(username, invalid, expiredOn, reconnectUrl, people\)/,
    );
    expect(compile('{{#each name}}x{{/each}}')).toThrow(/name is not a list/);
    expect(compile('{{accounts}}')).toThrow(/accounts is a list: go through it with \{\{#each/);
    expect(compile('{{#if accounts}}x{{/if}}')).toThrow(/accounts is a list/);
    expect(compile('{{#each accounts}}{{{username}}}{{/each}}')).toThrow(
      /\{\{\{username\}\}\} would put it into the HTML unescaped/,
    );
    for (const unsupported of [
      '{{#each accounts as |account|}}{{account.username}}{{/each}}',
      '{{#each accounts}}x{{else}}none{{/each}}',
      '{{#each accounts}}{{@index}}{{/each}}',
      '{{#each accounts}}{{../name}}{{/each}}',
      '{{#each accounts}}{{this}}{{/each}}',
      '{{#each accounts.people}}{{name}}{{/each}}',
      '{{#each accounts key="x"}}{{username}}{{/each}}',
      '{{#each accounts}}{{#each people}}{{username}}{{/each}}{{/each}}',
      '{{#with accounts}}x{{/with}}',
    ]) {
      expect(compile(unsupported)).toThrow(TemplateError);
    }
  });
});

describe("the reconnect link creator's email (a client used the link)", () => {
  const reconnected = (data: Partial<ReconnectedEmailData> = {}) =>
    renderer.render('reconnected-creator', { ...sampleReconnectedEmailData, ...data });

  it('says which account the client reconnected, that its widget updates again, and when', () => {
    const email = reconnected();
    expect(email.subject).toBe('Your client reconnected @ann.bakery: its widget updates again');
    for (const body of [email.text, email.html]) {
      expect(body).toContain('@ann.bakery');
      expect(body).toContain('26 November 2026 at 15:42 UTC');
      expect(body).toMatch(/widgets update again/);
      expect(body).toMatch(/Nothing else is needed/);
    }
    // The HTML escapes the link's `=` as Handlebars does.
    expect(email.text).toContain(sampleReconnectedEmailData.actionUrl);
    expect(email.html).toContain(sampleReconnectedEmailData.actionUrl.replace('=', '&#x3D;'));
  });

  it('says it is not governed by the notification preferences, and carries no unsubscribe link', () => {
    const email = reconnected();
    for (const body of [email.text, email.html]) {
      expect(body).toMatch(/whatever your notification preferences/);
      expect(body).not.toMatch(/unsubscribe\?|settings#notifications/);
    }
  });

  it('still says the client reconnected when the account was removed since (no username)', () => {
    const email = reconnected({ username: '' });
    expect(email.subject).toBe(
      'Your client reconnected their Instagram account: its widget updates again',
    );
    expect(email.text).not.toContain('@');
    expect(email.text).toMatch(/removed from tokenwatch since/);
  });

  it('refuses to render without when the link was used', () => {
    expect(() => reconnected({ reconnectedAt: '' })).toThrow(/reconnectedAt is missing/);
  });
});

describe("the developer's emails offer a reconnect link for the client", () => {
  const linkPage = sampleEmailData.reconnectLinkUrl ?? '';
  const developerEmails = [
    renderer.render('expired-developer', sampleEmailData),
    renderer.render('expired-developer', {
      ...sampleEmailData,
      reason: 'invalid',
      cause: 'checkpoint',
    }),
    renderer.render('expiring-developer', sampleExpiringEmailData),
    renderer.render('reminder-developer', sampleReminderEmailData),
    renderer.render('reminder-developer', {
      ...sampleReminderEmailData,
      daysSince: 28,
      last: true,
    }),
  ];

  it('say "send your client a reconnect link", with the app page where it is made', () => {
    expect(linkPage).toMatch(/\/instagram-accounts\?account=17841400000000001#reconnect-link$/);
    for (const email of developerEmails) {
      expect(email.text).toMatch(/Send your client a reconnect link/);
      expect(email.text).toContain(`Make one here:\n${linkPage}`);
      expect(email.html).toMatch(/Send your client a reconnect link/);
      expect(email.html).toContain(`<a href="${linkPage.replace('=', '&#x3D;')}">`);
    }
  });

  it('are not sent without that page, and the owner is not offered one', () => {
    expect(() =>
      renderer.render('expired-developer', { ...sampleEmailData, reconnectLinkUrl: undefined }),
    ).toThrow(/expired-developer email: reconnectLinkUrl is missing/);
    for (const email of [
      renderer.render('expired-owner', sampleEmailData),
      renderer.render('expiring-owner', sampleExpiringEmailData),
      renderer.render('reminder-owner', sampleReminderEmailData),
    ]) {
      expect(email.text).not.toMatch(/reconnect link/);
      expect(email.html).not.toMatch(/reconnect link/);
    }
  });
});

describe("an email's links", () => {
  const settings = {
    appUrl: 'https://app.example.com',
    unsubscribeUrl: 'https://api.example.com/unsubscribe',
  };
  const linksOf = (audience: 'owner' | 'developer') =>
    emailLinks(
      settings,
      {
        accountId: 'acct 1',
        audience,
        userId: 'u-1',
        preference: audience === 'owner' ? 'ownerExpiredToken' : 'developerExpiredToken',
      },
      'k'.repeat(48),
      new Date('2026-11-25T12:00:00.000Z'),
    );

  it("give a developer the page where a reconnect link for the client's account is made", () => {
    expect(linksOf('developer').reconnectLinkUrl).toBe(
      'https://app.example.com/instagram-accounts?account=acct%201#reconnect-link',
    );
    expect(linksOf('owner').reconnectLinkUrl).toBeUndefined();
  });
});

describe('the digest (the notices of one window, in one email)', () => {
  const digestOwner = (data: Partial<DigestEmailData> = {}) =>
    renderer.render('digest-owner', { ...sampleDigestEmailData, ...data });
  const digestDeveloper = (data: Partial<DigestEmailData> = {}) =>
    renderer.render('digest-developer', { ...sampleDeveloperDigestEmailData, ...data });
  /** The text body, and the HTML body's words as a reader sees them: no tags, one space. */
  const both = (email: { text: string; html: string }) =>
    [email.text, email.html.replace(/<[^>]*>/g, ' ')].map((body) =>
      body.replace(/\s+/g, ' ').replace(/ ([,.:;])/g, '$1'),
    );
  const usernames = sampleDigestEmailData.notices.map((notice) => notice.username);
  /** The accounts a body lists, in order: each item starts with the account's @username. */
  const listed = {
    text: (text: string) => [...text.matchAll(/^- @(\S+) /gm)].map((match) => match[1]),
    html: (html: string) =>
      [...html.matchAll(/<li[^>]*>\s*<strong>@([^<]+)<\/strong>/g)].map((match) => match[1]),
  };

  it("has one-line subjects counting the accounts, a developer's marked as such", () => {
    expect(digestOwner().subject).toBe('5 of your Instagram accounts need attention');
    expect(digestDeveloper().subject).toBe(
      "[Developer] 5 of your clients' Instagram accounts need attention",
    );
    const two = { notices: sampleDigestEmailData.notices.slice(0, 2) };
    expect(digestOwner(two).subject).toBe('2 of your Instagram accounts need attention');
    for (const email of [digestOwner(), digestDeveloper(), digestOwner(two)]) {
      expect(email.subject).not.toMatch(/[\r\n]/);
    }
  });

  it('lists every account once per notice, in order, alike in the text and the HTML', () => {
    for (const email of [digestOwner(), digestDeveloper()]) {
      expect(listed.text(email.text)).toEqual(usernames);
      expect(listed.html(email.html)).toEqual(usernames);
    }
  });

  it("says of each account what happened, in its kind's and cause's words, and the one thing to do", () => {
    for (const body of both(digestOwner())) {
      expect(body).toMatch(
        /@ann\.bakery is disconnected: its access token expired on 25 November 2026 at 12:00 UTC\. Reconnect it/,
      );
      expect(body).toMatch(
        /@ann\.cafe is disconnected: its password was changed\. Reconnect it and sign in to Instagram with the new password/,
      );
      // A warning: the time left as its own email counts it, from when the digest is written.
      expect(body).toMatch(
        /@ann\.catering disconnects in 6 days, on 2 December 2026 at 09:00 UTC, when its access token expires: Instagram has not allowed us to renew it\. Reconnect it before then/,
      );
      expect(body).toMatch(
        /@ann\.pastry is still disconnected, for 7 days now: Instagram is holding it for a security check\. Log in to Instagram as @ann\.pastry once/,
      );
      expect(body).toMatch(
        /@ann\.weddings is still disconnected, for 28 days now: someone removed your widget's access to it in Instagram's settings\. Reconnect it and allow access when Instagram asks/,
      );
      expect(body).toMatch(
        /This is the last reminder we'll send about it: @ann\.weddings stays disconnected/,
      );
      expect(body.match(/last reminder/g)).toHaveLength(1);
      expect(body).toMatch(
        /notices that come soon after one we've just sent you are gathered here, in one email/,
      );
      expect(body).toMatch(/You receive this email because you own these accounts\./);
      expect(body).not.toMatch(/reconnect link|Refresh token/);
    }
    for (const body of both(digestDeveloper())) {
      expect(body).toMatch(
        /@ann\.cafe is disconnected: its password was changed\. Ask your client to reconnect it/,
      );
      expect(body).toMatch(
        /@ann\.pastry is still disconnected, for 7 days now: Instagram is holding it for a security check until its owner logs in\. Ask your client to log in to Instagram as @ann\.pastry once/,
      );
      expect(body).toMatch(/someone removed the app's access to it in Instagram's settings/);
      expect(body).toMatch(/Refresh token button if you can log in to Instagram as @ann\.bakery/);
      expect(body).toMatch(
        /opted in to expired token notifications as a developer of these accounts/,
      );
    }
    const sessionEnded: DigestNotice = {
      kind: 'expired',
      username: 'ann.studio',
      reason: 'invalid',
      cause: 'session-invalidated',
      expiresAt: '2026-12-20T08:30:00.000Z',
      actionUrl: 'https://app.example.com/instagram-accounts',
    };
    const [first] = sampleDigestEmailData.notices;
    if (!first) throw new Error('no notice');
    for (const body of both(digestOwner({ notices: [first, sessionEnded] }))) {
      expect(body).toMatch(/@ann\.studio is disconnected: Instagram ended its session/);
      expect(body).not.toMatch(/@ann\.studio[^.]*expired on/);
    }
  });

  it("links each account to what fixes it: the owner's reconnect page; the developer's account page and its reconnect link", () => {
    const owner = digestOwner();
    expect(owner.html.match(/>Reconnect @[^<]+<\/a>/g)).toHaveLength(5);
    expect(owner.text).toContain('  https://app.example.com/instagram-accounts\n');
    const developer = digestDeveloper();
    for (const notice of sampleDeveloperDigestEmailData.notices) {
      const linkPage = notice.reconnectLinkUrl ?? '';
      expect(linkPage).toMatch(/\?account=\d+#reconnect-link$/);
      expect(developer.text).toContain(`Send your client a reconnect link: ${linkPage}\n`);
      expect(developer.text).toContain(`Open it: ${notice.actionUrl}\n`);
      expect(developer.html).toContain(`<a href="${linkPage.replace('=', '&#x3D;')}"`);
      expect(developer.html).toContain(`<a href="${notice.actionUrl.replace('=', '&#x3D;')}"`);
    }
    // And once, the page of all their accounts.
    for (const email of [owner, developer]) {
      expect(email.text).toContain(`\n${sampleDigestEmailData.accountsUrl}\n`);
      expect(email.html).toContain(`href="${sampleDigestEmailData.accountsUrl}"`);
    }
  });

  it('names the account, and counts it once, when every notice is about it', () => {
    const [first, second] = sampleDigestEmailData.notices;
    if (!first || !second) throw new Error('no notices');
    const notices = [first, { ...second, username: first.username }];
    expect(digestOwner({ notices }).subject).toBe(
      'Your Instagram account @ann.bakery needs attention: several notices in one email',
    );
    expect(digestDeveloper({ notices }).subject).toMatch(
      /^\[Developer\] Your client's Instagram account @ann\.bakery needs attention/,
    );
    expect(listed.text(digestOwner({ notices }).text)).toEqual(['ann.bakery', 'ann.bakery']);
    expect(digestOwner({ notices }).text).toContain('because you own @ann.bakery.');
  });

  it('escapes what a user typed in the HTML, and keeps the plain text readable', () => {
    const typed = '<script>alert("x")</script> & Co';
    const email = digestOwner({
      name: typed,
      notices: sampleDigestEmailData.notices.map((notice) => ({ ...notice, username: typed })),
    });
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co,');
    expect(email.html).toContain('<strong>@&lt;script&gt;');
    expect(email.text).toContain(`Hi ${typed},`);
    expect(email.text).toContain(`- @${typed} is disconnected`);
  });

  it('refuses fewer than two notices: a single notice goes as its own email', () => {
    const [first] = sampleDigestEmailData.notices;
    for (const notices of [[], first ? [first] : [], undefined]) {
      expect(() =>
        renderer.render('digest-owner', {
          ...sampleDigestEmailData,
          notices,
        } as unknown as DigestEmailData),
      ).toThrow(
        /digest-owner email: notices has (0|1|none), not two or more \(a single notice goes as its own email\)/,
      );
    }
  });

  it("refuses a missing field, the digest's or a notice's, naming it", () => {
    for (const field of ['name', 'preferencesUrl', 'unsubscribeUrl', 'accountsUrl'] as const) {
      expect(() => digestOwner({ [field]: '' })).toThrow(
        new RegExp(`digest-owner email: ${field} is missing`),
      );
    }
    const withNotice = (index: number, change: Record<string, unknown>) => ({
      notices: sampleDigestEmailData.notices.map((notice, at) =>
        at === index ? { ...notice, ...change } : notice,
      ),
    });
    expect(() => digestOwner(withNotice(1, { reason: undefined }))).toThrow(
      /digest-owner email: notices\[1\]\.reason is missing/,
    );
    expect(() => digestOwner(withNotice(2, { writtenAt: '' }))).toThrow(
      /notices\[2\]\.writtenAt is missing/,
    );
    expect(() => digestOwner(withNotice(3, { daysSince: 0 }))).toThrow(
      /notices\[3\]\.daysSince is missing/,
    );
    expect(() => digestOwner(withNotice(0, { username: '' }))).toThrow(
      /notices\[0\]\.username is missing/,
    );
    expect(() => digestOwner(withNotice(0, { kind: 'reconnected' }))).toThrow(
      /notices\[0\]\.kind is reconnected, not expired, expiring, reminder/,
    );
    // A developer's digest offers a reconnect link per account: never without its address.
    expect(() => digestDeveloper(withNotice(4, { reconnectLinkUrl: undefined }))).toThrow(
      /digest-developer email: notices\[4\]\.reconnectLinkUrl is missing/,
    );
    const ownNotices = sampleDigestEmailData.notices.map((notice) => ({
      ...notice,
      reconnectLinkUrl: undefined,
    }));
    expect(digestOwner({ notices: ownNotices }).text).not.toMatch(/reconnect link/);
  });
});

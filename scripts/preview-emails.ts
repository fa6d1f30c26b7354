/**
 * `npm run preview`: renders every email template (occasions.ts' `templateNames`) with sample
 * data into preview/ (git-ignored), as .html and .txt files a person can open, and an index.html
 * linking them: an expired-token email once for each cause a token can be lost for
 * (lifecycle.ts' `tokenCause`), a warning once for each way it says the time left, and a reminder
 * once for each cause at one step, at the first step, and at the last (which says it is), the
 * reconnect link creator's email as it goes out and for an account removed since, and a digest
 * of five notices (every kind, several causes), of two, and of two about one account.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createEmailRenderer,
  templateNames,
  type EmailData,
  type TemplateName,
} from '../functions/notifications/emails';
import {
  sampleDeveloperDigestEmailData,
  sampleDigestEmailData,
  sampleEmailData,
  sampleExpiringEmailData,
  sampleReconnectedEmailData,
  sampleReminderEmailData,
} from '../functions/notifications/email-samples';
import { compileTemplateSources } from './email-templates';
import { tokenCause } from '../functions/tokens/lifecycle';

/** One sample of an email, named for what it shows. */
interface Sample<Name extends TemplateName> {
  label: string;
  data: EmailData<Name>;
}

const developerAccountsUrl = 'https://app.example.com/instagram-accounts?account=17841400000000001';
const causes = <Name extends 'expired-owner' | 'expired-developer'>(
  data: EmailData<Name>,
): Sample<Name>[] =>
  tokenCause.options.map((cause) => ({
    label: cause,
    data: { ...data, reason: cause === 'expired' ? 'expired' : 'invalid', cause },
  }));
/** The 7-day step as it goes out, and the 1-day step a day and a few hours before. */
const timesLeft = <Name extends 'expiring-owner' | 'expiring-developer'>(
  data: EmailData<Name>,
): Sample<Name>[] => [
  { label: '7-days', data },
  { label: 'tomorrow', data: { ...data, writtenAt: '2026-11-24T09:00:00.000Z' } },
  { label: '1-day', data: { ...data, writtenAt: '2026-11-24T16:00:00.000Z' } },
];

/** Each cause at the 7-day step, then the first step and the last (cause `checkpoint`). */
const reminders = <Name extends 'reminder-owner' | 'reminder-developer'>(
  data: EmailData<Name>,
): Sample<Name>[] => [
  ...tokenCause.options.map((cause) => ({
    label: `${cause}-7-days`,
    data: {
      ...data,
      reason: cause === 'expired' ? ('expired' as const) : ('invalid' as const),
      cause,
    },
  })),
  { label: 'expired-3-days', data: { ...data, daysSince: 3 } },
  {
    label: 'checkpoint-28-days-last',
    data: { ...data, reason: 'invalid', cause: 'checkpoint', daysSince: 28, last: true },
  },
];

/**
 * The five notices of every kind, the smallest digest (two), and two notices about one account
 * (a token lost, reconnected and lost again within the hour): the subject names it.
 */
const digests = <Name extends 'digest-owner' | 'digest-developer'>(
  data: EmailData<Name>,
): Sample<Name>[] => {
  const [first, second] = data.notices;
  if (!first || !second) throw new Error('The sample digest has fewer than two notices');
  return [
    { label: 'five-accounts', data },
    { label: 'two-accounts', data: { ...data, notices: [first, second] } },
    {
      label: 'one-account',
      data: { ...data, notices: [first, { ...second, username: first.username }] },
    },
  ];
};

/** Each template's samples: a new template fails to compile here until it has some. */
const samples: { [Name in TemplateName]: Sample<Name>[] } = {
  'expired-owner': causes(sampleEmailData),
  'expired-developer': causes({ ...sampleEmailData, actionUrl: developerAccountsUrl }),
  'expiring-owner': timesLeft(sampleExpiringEmailData),
  'expiring-developer': timesLeft({ ...sampleExpiringEmailData, actionUrl: developerAccountsUrl }),
  'reminder-owner': reminders(sampleReminderEmailData),
  'reminder-developer': reminders({ ...sampleReminderEmailData, actionUrl: developerAccountsUrl }),
  // As it goes out, and for an account removed since the client used the link (no username).
  'reconnected-creator': [
    { label: 'reconnected', data: sampleReconnectedEmailData },
    { label: 'account-removed', data: { ...sampleReconnectedEmailData, username: '' } },
  ],
  'digest-owner': digests(sampleDigestEmailData),
  'digest-developer': digests(sampleDeveloperDigestEmailData),
};

const outputDirectory = fileURLToPath(new URL('../preview/', import.meta.url));
mkdirSync(outputDirectory, { recursive: true });

// The templates as they are now, even before `npm run templates` compiled them.
const renderer = createEmailRenderer(compileTemplateSources());
const links: string[] = [];
for (const template of templateNames) {
  for (const sample of samples[template] as Sample<TemplateName>[]) {
    const email = renderer.render(template, sample.data);
    const name = `${template}-${sample.label}`;
    writeFileSync(`${outputDirectory}${name}.html`, email.html);
    writeFileSync(`${outputDirectory}${name}.txt`, `Subject: ${email.subject}\n\n${email.text}`);
    links.push(
      `<li><strong>${name}</strong>: ${escapeHtml(email.subject)} — <a href="${name}.html">HTML</a> · <a href="${name}.txt">text</a></li>`,
    );
  }
}
writeFileSync(
  `${outputDirectory}index.html`,
  `<!doctype html><meta charset="utf-8"><title>tokenwatch emails</title><h1>tokenwatch emails</h1><ul>${links.join('')}</ul>\n`,
);
console.log(`Wrote ${links.length * 2} previews and an index to ${outputDirectory}index.html`);

function escapeHtml(value: string): string {
  return value.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

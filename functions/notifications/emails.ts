/**
 * The emails, one per template of occasions.ts (`expired-owner`, `expired-developer`: a kind of
 * occasion for one audience), each as subject, HTML and plain text. HTML bodies are
 * HTML-escaped; subjects and text bodies are not (they are not HTML), which is safe because
 * every value is either validated (username) or a profile name shown as text.
 *
 * The templates are Handlebars files in templates/, compiled at build time (`npm run templates`)
 * into plain functions in email-templates.generated.ts: no template engine ships or starts up,
 * and a template naming a field the view lacks fails the build, not a send.
 */
import type { EmailTemplates } from './email-model';
import { compiledTemplates } from './email-templates.generated';
import type { TemplateName } from './occasions';
import { defaultCause, type ExpiryReason, type TokenCause } from '#tokens/lifecycle';

export { templateNames, type TemplateName } from './occasions';

/** What a template may show. Nothing else reaches it: there is no way to pass a token in. */
export interface ExpiredTokenEmailData {
  /** the recipient's name */
  name: string;
  /** the Instagram username, without the @ */
  username: string;
  reason: ExpiryReason;
  /**
   * What happened to the token, and so what the email tells the reader to do about it.
   * @default the default for `reason` (lifecycle.ts, defaultCause)
   */
  cause?: TokenCause;
  /** ISO 8601 */
  expiresAt: string;
  /** owner: where to reconnect; developer: the client's accounts page with Refresh token */
  actionUrl: string;
  preferencesUrl: string;
  unsubscribeUrl: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface EmailRenderer {
  /** The email of that template (`templateName(kind, audience)` of occasions.ts). */
  render(template: TemplateName, data: ExpiredTokenEmailData): RenderedEmail;
}

const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const twoDigits = (value: number) => String(value).padStart(2, '0');

/**
 * "25 November 2026 at 12:00 UTC", as en-GB writes it. Written out rather than asked of
 * Intl.DateTimeFormat, whose first construction loads ICU data: about 10 ms of every notifier
 * cold start, for one fixed format in one language.
 */
export function formatInstant(iso: string): string {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) throw new RangeError(`Not an instant: ${iso}`);
  return (
    `${instant.getUTCDate()} ${months[instant.getUTCMonth()] ?? ''} ${instant.getUTCFullYear()} ` +
    `at ${twoDigits(instant.getUTCHours())}:${twoDigits(instant.getUTCMinutes())} UTC`
  );
}

export const sampleEmailData: ExpiredTokenEmailData = {
  name: 'Ann Example',
  username: 'ann.bakery',
  reason: 'expired',
  expiresAt: '2026-11-25T12:00:00.000Z',
  actionUrl: 'https://app.example.com/instagram-accounts',
  preferencesUrl: 'https://app.example.com/settings#notifications',
  unsubscribeUrl: 'https://api.example.com/unsubscribe?token=sample',
};

const requiredFields = [
  'name',
  'username',
  'reason',
  'expiresAt',
  'actionUrl',
  'preferencesUrl',
  'unsubscribeUrl',
] as const satisfies readonly (keyof ExpiredTokenEmailData)[];

export function createEmailRenderer(compiled: EmailTemplates = compiledTemplates): EmailRenderer {
  return {
    render(template, data) {
      const templates = Object.hasOwn(compiled, template) ? compiled[template] : undefined;
      if (!templates) throw new Error(`Cannot render the ${template} email: no such template`);
      for (const field of requiredFields) {
        if (typeof data[field] !== 'string' || data[field] === '') {
          throw new Error(`Cannot render the ${template} email: ${field} is missing`);
        }
      }
      const cause = data.cause ?? defaultCause(data.reason);
      const view = {
        name: data.name,
        username: data.username,
        invalid: cause !== 'expired',
        passwordChanged: cause === 'password-changed',
        appRemoved: cause === 'app-removed',
        checkpoint: cause === 'checkpoint',
        sessionInvalidated: cause === 'session-invalidated',
        expiredOn: formatInstant(data.expiresAt),
        reconnectUrl: data.actionUrl,
        accountsUrl: data.actionUrl,
        preferencesUrl: data.preferencesUrl,
        unsubscribeUrl: data.unsubscribeUrl,
      };
      return {
        // One line, whatever the template file's layout: a subject may not carry a line break.
        subject: templates.subject(view).replace(/\s+/g, ' ').trim(),
        html: templates.html(view),
        text: templates.text(view).replace(/\n{3,}/g, '\n\n'),
      };
    },
  };
}

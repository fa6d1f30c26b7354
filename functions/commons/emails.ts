/**
 * The two expired-token emails, rendered with Handlebars: one for the owner of the account, one
 * for an opted-in developer, each as subject, HTML and plain text. HTML bodies are HTML-escaped;
 * subjects and text bodies are not (they are not HTML), which is safe because every value is
 * either validated (username) or a profile name shown as text.
 *
 * The templates in templates/ are precompiled at build time (`npm run templates`) into
 * email-templates.generated.ts, so the notifier carries only Handlebars' runtime, and renders
 * each once at cold start, so a template that names a missing field fails the start, not a send.
 */
import Handlebars from 'handlebars/runtime';
import {
  emailKinds,
  emailParts,
  type EmailKind,
  type EmailPart,
  type EmailTemplates,
} from './email-kinds';
import { precompiledTemplates } from './email-templates.generated';
import type { ExpiryReason } from './schemas';

export { emailKinds, type EmailKind } from './email-kinds';

/** What a template may show. Nothing else reaches it: there is no way to pass a token in. */
export interface ExpiredTokenEmailData {
  /** the recipient's name */
  name: string;
  /** the Instagram username, without the @ */
  username: string;
  reason: ExpiryReason;
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
  render(kind: EmailKind, data: ExpiredTokenEmailData): RenderedEmail;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'long',
  timeStyle: 'short',
  timeZone: 'UTC',
});
export const formatInstant = (iso: string) => `${dateFormat.format(new Date(iso))} UTC`;

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

/** The precompiled templates, as Handlebars' runtime turns them into functions. */
function precompiled(): EmailTemplates {
  const handlebars = Handlebars.create();
  const specs = precompiledTemplates as Record<EmailKind, Record<EmailPart, TemplateSpecification>>;
  return Object.fromEntries(
    emailKinds.map((kind) => [
      kind,
      Object.fromEntries(emailParts.map((part) => [part, handlebars.template(specs[kind][part])])),
    ]),
  ) as EmailTemplates;
}

export function createEmailRenderer(compiled: EmailTemplates = precompiled()): EmailRenderer {
  const renderer: EmailRenderer = {
    render(kind, data) {
      for (const field of requiredFields) {
        if (typeof data[field] !== 'string' || data[field] === '') {
          throw new Error(`Cannot render the ${kind} email: ${field} is missing`);
        }
      }
      const view = {
        name: data.name,
        username: data.username,
        invalid: data.reason === 'invalid',
        expiredOn: formatInstant(data.expiresAt),
        reconnectUrl: data.actionUrl,
        accountsUrl: data.actionUrl,
        preferencesUrl: data.preferencesUrl,
        unsubscribeUrl: data.unsubscribeUrl,
      };
      const templates = compiled[kind];
      return {
        // One line, whatever the template file's layout: a subject may not carry a line break.
        subject: templates.subject(view).replace(/\s+/g, ' ').trim(),
        html: templates.html(view),
        text: templates.text(view).replace(/\n{3,}/g, '\n\n'),
      };
    },
  };
  // Render each once now: a template naming a field the view lacks fails the cold start.
  for (const kind of emailKinds) renderer.render(kind, sampleEmailData);
  return renderer;
}

/**
 * The two expired-token emails, rendered from `templates/` with Handlebars: one for the owner of
 * the account, one for an opted-in developer, each as subject, HTML and plain text. HTML bodies
 * are HTML-escaped; subjects and text bodies are not (they are not HTML), which is safe because
 * every value is either validated (username) or a profile name shown as text.
 *
 * Templates are plain files read once at cold start (next to the bundle in Lambda, where the
 * function construct copies them; in templates/ when run from source by tests, the local stack
 * and the preview script) and compiled at once, so a broken template fails the start, not a send.
 */
import Handlebars from 'handlebars';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExpiryReason } from './schemas';

export type EmailKind = 'owner' | 'developer';
export const emailKinds: readonly EmailKind[] = ['owner', 'developer'];
const parts = ['subject', 'html', 'text'] as const;
type Part = (typeof parts)[number];

export type TemplateSources = Record<EmailKind, Record<Part, string>>;

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

/** The bundle's own directory in Lambda, then the repository's templates/ when run from source. */
export function findTemplatesDirectory(): string {
  const candidates = [
    new URL('./templates/', import.meta.url),
    new URL('../../templates/', import.meta.url),
  ];
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(`${path}owner.html.hbs`)) return path;
  }
  throw new Error(
    `No email templates found in ${candidates.map((c) => fileURLToPath(c)).join(' or ')}`,
  );
}

export function readTemplateSources(directory = findTemplatesDirectory()): TemplateSources {
  const read = (kind: EmailKind) =>
    Object.fromEntries(
      parts.map((part) => [part, readFileSync(`${directory}/${kind}.${part}.hbs`, 'utf8')]),
    ) as Record<Part, string>;
  return { owner: read('owner'), developer: read('developer') };
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

export function createEmailRenderer(
  sources: TemplateSources = readTemplateSources(),
): EmailRenderer {
  const handlebars = Handlebars.create();
  // strict: a field missing from the data is an error, never an empty gap in a sent email.
  const compile = (source: string, part: Part) =>
    handlebars.compile(source, { strict: true, noEscape: part !== 'html' });
  const compiled = Object.fromEntries(
    emailKinds.map((kind) => [
      kind,
      Object.fromEntries(parts.map((part) => [part, compile(sources[kind][part], part)])),
    ]),
  ) as Record<EmailKind, Record<Part, HandlebarsTemplateDelegate>>;

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
  // Handlebars compiles lazily on first use: render once now, so it happens at cold start.
  for (const kind of emailKinds) renderer.render(kind, sampleEmailData);
  return renderer;
}

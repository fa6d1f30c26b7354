/**
 * The two emails, their three parts, and the view a template may name: shared by the renderer
 * and by the build step that compiles the templates (which must not need its own output).
 */
export type EmailKind = 'owner' | 'developer';
export const emailKinds: readonly EmailKind[] = ['owner', 'developer'];

export const emailParts = ['subject', 'html', 'text'] as const;
export type EmailPart = (typeof emailParts)[number];

/**
 * Every field a template may name, and what it holds: a `flag` is for `{{#if}}`, a `text` is
 * shown. The compiler refuses any other name, so a typo fails `npm run templates`, never a send.
 */
export const emailViewFields = {
  name: 'text',
  username: 'text',
  invalid: 'flag',
  expiredOn: 'text',
  reconnectUrl: 'text',
  accountsUrl: 'text',
  preferencesUrl: 'text',
  unsubscribeUrl: 'text',
} as const;
export type EmailView = {
  [Field in keyof typeof emailViewFields]: (typeof emailViewFields)[Field] extends 'flag'
    ? boolean
    : string;
};

export type TemplateSources = Record<EmailKind, Record<EmailPart, string>>;
export type EmailTemplate = (view: EmailView) => string;
export type EmailTemplates = Record<EmailKind, Record<EmailPart, EmailTemplate>>;

/** Only the HTML bodies are HTML: a subject or a plain-text body shows values as they are. */
export const escapesHtml = (part: EmailPart) => part === 'html';

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;',
  '`': '&#x60;',
  '=': '&#x3D;',
};

/** Handlebars' own escaping, character for character, so the compiled templates match it. */
export const escapeTemplateValue = (value: string | boolean): string =>
  String(value).replace(/[&<>"'`=]/g, (character) => htmlEscapes[character] ?? character);

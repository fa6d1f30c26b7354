/**
 * The emails' templates, their three parts, and the view a template may name: shared by the
 * renderer and by the build step that compiles the templates (which must not need its own
 * output). Which templates exist is not said here: there is one per `TemplateName` of
 * occasions.ts, a kind of occasion for one audience.
 */
import type { TemplateName } from './occasions';

export const emailParts = ['subject', 'html', 'text'] as const;
export type EmailPart = (typeof emailParts)[number];

/**
 * What a view field holds: a `flag` is for `{{#if}}`, a `text` is shown, and a `list` is for
 * `{{#each}}`, each item with fields of its own (the only ones a template may name inside it).
 */
export type ViewFieldKind = 'text' | 'flag' | { readonly list: ViewFields };
export type ViewFields = Readonly<Record<string, ViewFieldKind>>;

/** The values a field declaration asks for: string, boolean, or a list of such records. */
export type ViewOf<Fields extends ViewFields> = {
  readonly [Field in keyof Fields]: Fields[Field] extends 'flag'
    ? boolean
    : Fields[Field] extends { readonly list: infer Item extends ViewFields }
      ? readonly ViewOf<Item>[]
      : string;
};

/**
 * One notice of a digest, as its own email would say it (the same cause flags, dates and counts,
 * from the same code): which account, which kind of notice, and its links.
 */
export const digestNoticeFields = {
  username: 'text',
  /** the kind of notice, one flag each: a lost token, a warning, a reminder */
  lost: 'flag',
  expiring: 'flag',
  reminder: 'flag',
  /** as in the view: any cause but `expired`, then one flag per cause */
  invalid: 'flag',
  passwordChanged: 'flag',
  appRemoved: 'flag',
  checkpoint: 'flag',
  sessionInvalidated: 'flag',
  expiredOn: 'text',
  expiresOn: 'text',
  /** a warning's: "in 6 days" */
  timeLeft: 'text',
  /** a reminder's: "7 days" */
  disconnectedFor: 'text',
  lastReminder: 'flag',
  /** the owner's: where to reconnect */
  reconnectUrl: 'text',
  /** a developer's: the client's account in the app */
  accountsUrl: 'text',
  /** a developer's: where a reconnect link for the client is made; empty in the owner's */
  reconnectLinkUrl: 'text',
} as const satisfies ViewFields;

/**
 * Every field a template may name. The compiler refuses any other name, so a typo fails
 * `npm run templates`, never a send.
 */
export const emailViewFields = {
  name: 'text',
  username: 'text',
  /** Instagram refused the token before its expiry (any cause but `expired`) */
  invalid: 'flag',
  /** the cause, one flag each (lifecycle.ts `tokenCause`); none is set for `expired` */
  passwordChanged: 'flag',
  appRemoved: 'flag',
  checkpoint: 'flag',
  sessionInvalidated: 'flag',
  expiredOn: 'text',
  /** a warning: the token's expiry, written out (the same instant as `expiredOn`) */
  expiresOn: 'text',
  /**
   * a warning: how long is left until the expiry, counted when the email is written ("in 6
   * days", "tomorrow", "in 20 hours"); empty in the other emails
   */
  timeLeft: 'text',
  /**
   * a reminder: how long the token has been lost, counted in the reminder's step ("7 days");
   * empty in the other emails
   */
  disconnectedFor: 'text',
  /** a reminder: the last one (the check says so in the event); no other reminder follows */
  lastReminder: 'flag',
  reconnectUrl: 'text',
  accountsUrl: 'text',
  preferencesUrl: 'text',
  unsubscribeUrl: 'text',
  /**
   * a developer's email: the app page where a reconnect link for the client is made; empty in
   * the owner's
   */
  reconnectLinkUrl: 'text',
  /** the creator's `reconnected` email: when the client used the link, written out */
  reconnectedOn: 'text',
  /** a digest: its notices, in order (two or more); empty in the other emails */
  notices: { list: digestNoticeFields },
  /**
   * a digest: how many accounts its notices are about, in digits ("5"); empty in the other
   * emails. Two notices may be about one account (then `oneAccount`, and `username` is its).
   */
  accountCount: 'text',
  oneAccount: 'flag',
} as const satisfies ViewFields;
export type EmailView = ViewOf<typeof emailViewFields>;

export type TemplateSources<Name extends string = TemplateName> = Record<
  Name,
  Record<EmailPart, string>
>;
export type EmailTemplate<View = EmailView> = (view: View) => string;
export type EmailTemplates<Name extends string = TemplateName, View = EmailView> = Record<
  Name,
  Record<EmailPart, EmailTemplate<View>>
>;

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

/**
 * The emails, one per template of occasions.ts (`expired-owner`, `expiring-developer`,
 * `reminder-owner`: a kind of occasion for one audience; `digest-owner`: several notices of one
 * window gathered in one email), each as subject, HTML and plain text. HTML bodies are
 * HTML-escaped; subjects and text bodies are not (they are not HTML), which is safe because
 * every value is either validated (username) or a profile name shown as text.
 *
 * The templates are Handlebars files in templates/, compiled at build time (`npm run templates`)
 * into plain functions in email-templates.generated.ts: no template engine ships or starts up,
 * and a template naming a field the view lacks fails the build, not a send.
 */
import type { EmailTemplates, EmailView, ViewOf, digestNoticeFields } from './email-model';
import { compiledTemplates } from './email-templates.generated';
import {
  kindOfTemplate,
  type OccasionKind,
  type TemplateKind,
  type TemplateName,
} from './occasions';
import { defaultCause, type ExpiryReason, type TokenCause } from '#tokens/lifecycle';

export { templateNames, type TemplateName } from './occasions';
export { formatDays, formatInstant, formatTimeLeft } from './email-formats';
import { formatDays, formatInstant, formatTimeLeft } from './email-formats';

/**
 * What every email shows, whatever its occasion. Nothing else reaches a template: there is no
 * way to pass a token in.
 */
export interface EmailBasics {
  /** the recipient's name */
  name: string;
  /** the Instagram username, without the @ */
  username: string;
  /** ISO 8601: when the token expired, or expires */
  expiresAt: string;
  /** owner: where to reconnect; developer: the client's accounts page with Refresh token */
  actionUrl: string;
  preferencesUrl: string;
  unsubscribeUrl: string;
  /**
   * developer: the app page where a reconnect link for the client is made
   * (`/instagram-accounts?account=<accountId>#reconnect-link`); the owner's emails have none
   */
  reconnectLinkUrl?: string;
}

/** The email about a lost token (occasion `expired`). */
export interface ExpiredTokenEmailData extends EmailBasics {
  reason: ExpiryReason;
  /**
   * What happened to the token, and so what the email tells the reader to do about it.
   * @default the default for `reason` (lifecycle.ts, defaultCause)
   */
  cause?: TokenCause;
}

/** The warning about a token that expires at `expiresAt` unless it is reconnected first. */
export interface ExpiringTokenEmailData extends EmailBasics {
  /** ISO 8601: when the email is written; the time it says is left runs from here to the expiry */
  writtenAt: string;
}

/**
 * A reminder that a lost token is still lost (occasion `reminder-<daysSince>`): what the expired
 * email said, again, and for how long the widget has not updated.
 */
export interface ReminderEmailData extends EmailBasics {
  reason: ExpiryReason;
  /** @default the default for `reason` (lifecycle.ts, defaultCause) */
  cause?: TokenCause;
  /** the reminder step: whole days since the token was first announced lost (3, 7, 14, 28) */
  daysSince: number;
  /** no reminder follows this one */
  last: boolean;
}

/**
 * The email to a reconnect link's creator that a client used it (occasion `reconnected`). It
 * answers the creator's own action: no preference governs it, so it has no preferences or
 * unsubscribe link.
 */
export interface ReconnectedEmailData {
  /** the creator's name */
  name: string;
  /** the Instagram username, without the @; empty when the account was removed since */
  username: string;
  /** ISO 8601: when the client used the link */
  reconnectedAt: string;
  /** the account in the app */
  actionUrl: string;
}

/** The fields of a notice's email that are the recipient's, not the notice's. */
type RecipientField = 'name' | 'preferencesUrl' | 'unsubscribeUrl';

/** One notice inside a digest: the same facts as its own email, without the recipient's fields. */
export type DigestNotice =
  | ({ kind: 'expired' } & Omit<ExpiredTokenEmailData, RecipientField>)
  | ({ kind: 'expiring' } & Omit<ExpiringTokenEmailData, RecipientField>)
  | ({ kind: 'reminder' } & Omit<ReminderEmailData, RecipientField>);
export type DigestNoticeKind = DigestNotice['kind'];

/**
 * The email that gathers the notices of one window to one person (`digest-owner`,
 * `digest-developer`): the first notice of a window goes at once as its own email, the others
 * together in this one at the window's end. Each notice keeps its own occasion in the ledger.
 */
export interface DigestEmailData {
  name: string;
  preferencesUrl: string;
  unsubscribeUrl: string;
  /** the app's accounts page (all accounts at once) */
  accountsUrl: string;
  /**
   * two or more (a single notice goes as its own email), in the order the email lists them; a
   * developer's each with its `reconnectLinkUrl`
   */
  notices: readonly DigestNotice[];
}

/** The data each kind of occasion's emails take. */
export interface EmailDataOfKind {
  expired: ExpiredTokenEmailData;
  expiring: ExpiringTokenEmailData;
  reminder: ReminderEmailData;
  reconnected: ReconnectedEmailData;
  digest: DigestEmailData;
}
/** The data a template takes: its kind of occasion's (`EmailData` alone: any of them). */
export type EmailData<Name extends TemplateName = TemplateName> =
  EmailDataOfKind[TemplateKind<Name>];

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface EmailRenderer {
  /** The email of that template (`templateName(kind, audience)` of occasions.ts). */
  render<Name extends TemplateName>(template: Name, data: EmailData<Name>): RenderedEmail;
}

const basicFields = [
  'name',
  'username',
  'expiresAt',
  'actionUrl',
  'preferencesUrl',
  'unsubscribeUrl',
] as const satisfies readonly (keyof EmailBasics)[];

/**
 * The fields each kind's data must hold, each a non-empty string or a count (a whole number above
 * 0). A digest's notices are checked as well, each as its own email's data but the recipient's.
 */
const requiredFields: {
  readonly [Kind in OccasionKind]: readonly (keyof EmailDataOfKind[Kind])[];
} = {
  expired: [...basicFields, 'reason'],
  expiring: [...basicFields, 'writtenAt'],
  reminder: [...basicFields, 'reason', 'daysSince'],
  // The username may be empty: the account may have been removed since the client used the link.
  reconnected: ['name', 'reconnectedAt', 'actionUrl'],
  digest: ['name', 'preferencesUrl', 'unsubscribeUrl', 'accountsUrl'],
};
const recipientFields: readonly string[] = [
  'name',
  'preferencesUrl',
  'unsubscribeUrl',
] satisfies RecipientField[];
const digestNoticeKinds: readonly string[] = [
  'expired',
  'expiring',
  'reminder',
] satisfies DigestNoticeKind[];
const filledIn = (value: unknown) =>
  (typeof value === 'string' && value !== '') ||
  (typeof value === 'number' && Number.isSafeInteger(value) && value > 0);

/** The cause, one flag each; none is set for `expired`, nor for a token not lost at all. */
const causeFlags = (cause: TokenCause | undefined) => ({
  invalid: cause !== undefined && cause !== 'expired',
  passwordChanged: cause === 'password-changed',
  appRemoved: cause === 'app-removed',
  checkpoint: cause === 'checkpoint',
  sessionInvalidated: cause === 'session-invalidated',
});

const basicView = (data: EmailBasics) => ({
  name: data.name,
  username: data.username,
  expiredOn: formatInstant(data.expiresAt),
  expiresOn: formatInstant(data.expiresAt),
  reconnectUrl: data.actionUrl,
  accountsUrl: data.actionUrl,
  preferencesUrl: data.preferencesUrl,
  unsubscribeUrl: data.unsubscribeUrl,
  reconnectLinkUrl: data.reconnectLinkUrl ?? '',
  reconnectedOn: '',
});

/** What only a reminder says: empty, or off, in the other emails. */
const noReminder = { disconnectedFor: '', lastReminder: false };

/** What only a digest says: empty, or off, in the other emails. */
const noDigest = { notices: [], accountCount: '', oneAccount: false };

/** The view each kind's templates see: every field of `emailViewFields`, filled from its data. */
const viewOf: { readonly [Kind in OccasionKind]: (data: EmailDataOfKind[Kind]) => EmailView } = {
  expired: (data) => ({
    ...basicView(data),
    ...causeFlags(data.cause ?? defaultCause(data.reason)),
    timeLeft: '',
    ...noReminder,
    ...noDigest,
  }),
  expiring: (data) => ({
    ...basicView(data),
    ...causeFlags(undefined),
    timeLeft: formatTimeLeft(data.expiresAt, data.writtenAt),
    ...noReminder,
    ...noDigest,
  }),
  // The cause in the expired email's words (the same flags); the time lost as the step says it,
  // which is never more than has passed (a late duplicate is the same step).
  reminder: (data) => ({
    ...basicView(data),
    ...causeFlags(data.cause ?? defaultCause(data.reason)),
    timeLeft: '',
    disconnectedFor: formatDays(data.daysSince),
    lastReminder: data.last,
    ...noDigest,
  }),
  // Only what the creator needs: which account, when, and where it is in the app.
  reconnected: (data) => ({
    name: data.name,
    username: data.username,
    ...causeFlags(undefined),
    expiredOn: '',
    expiresOn: '',
    timeLeft: '',
    ...noReminder,
    reconnectUrl: data.actionUrl,
    accountsUrl: data.actionUrl,
    preferencesUrl: '',
    unsubscribeUrl: '',
    reconnectLinkUrl: '',
    reconnectedOn: formatInstant(data.reconnectedAt),
    ...noDigest,
  }),
  // Each notice as its own email's view says it, then only what a list item may name; the
  // accounts counted once each (two notices may be about one account).
  digest: (data) => {
    const notices = data.notices.map(noticeView);
    const accounts = [...new Set(notices.map((notice) => notice.username))];
    return {
      name: data.name,
      username: accounts.length === 1 ? (accounts[0] ?? '') : '',
      ...causeFlags(undefined),
      expiredOn: '',
      expiresOn: '',
      timeLeft: '',
      ...noReminder,
      reconnectUrl: data.accountsUrl,
      accountsUrl: data.accountsUrl,
      preferencesUrl: data.preferencesUrl,
      unsubscribeUrl: data.unsubscribeUrl,
      reconnectLinkUrl: '',
      reconnectedOn: '',
      notices,
      accountCount: String(accounts.length),
      oneAccount: accounts.length === 1,
    };
  },
};

/** A digest's notice, from the view its own email would have: the same words, the same dates. */
function noticeView(notice: DigestNotice): ViewOf<typeof digestNoticeFields> {
  const recipient = { name: '', preferencesUrl: '', unsubscribeUrl: '' };
  const { kind } = notice;
  const view =
    kind === 'expired'
      ? viewOf.expired({ ...notice, ...recipient })
      : kind === 'expiring'
        ? viewOf.expiring({ ...notice, ...recipient })
        : viewOf.reminder({ ...notice, ...recipient });
  return {
    username: view.username,
    lost: kind === 'expired',
    expiring: kind === 'expiring',
    reminder: kind === 'reminder',
    invalid: view.invalid,
    passwordChanged: view.passwordChanged,
    appRemoved: view.appRemoved,
    checkpoint: view.checkpoint,
    sessionInvalidated: view.sessionInvalidated,
    expiredOn: view.expiredOn,
    expiresOn: view.expiresOn,
    timeLeft: view.timeLeft,
    disconnectedFor: view.disconnectedFor,
    lastReminder: view.lastReminder,
    reconnectUrl: view.reconnectUrl,
    accountsUrl: view.accountsUrl,
    reconnectLinkUrl: view.reconnectLinkUrl,
  };
}

/**
 * What keeps the data from making this template's email, as its message says it
 * (`notices[2].reason is missing`), or undefined when nothing does.
 */
function whatIsWrong(template: TemplateName, kind: OccasionKind, data: EmailData) {
  // A developer's email offers a reconnect link for the client: never without its address.
  const forDeveloper = template.endsWith('-developer');
  const lacking = (fields: Record<string, unknown>, required: readonly string[]) =>
    required.find((field) => !filledIn(fields[field]));
  const fields = data as unknown as Record<string, unknown>;
  if (kind !== 'digest') {
    const required = requiredFields[kind] as readonly string[];
    const missing = lacking(fields, forDeveloper ? [...required, 'reconnectLinkUrl'] : required);
    return missing === undefined ? undefined : `${missing} is missing`;
  }
  const missing = lacking(fields, requiredFields.digest);
  if (missing !== undefined) return `${missing} is missing`;
  const notices: unknown = fields.notices;
  // A single notice goes as its own email, never as a digest of one.
  if (!Array.isArray(notices) || notices.length < 2) {
    const count = Array.isArray(notices) ? notices.length : 'none';
    return `notices has ${count}, not two or more (a single notice goes as its own email)`;
  }
  for (const [index, notice] of (notices as unknown[]).entries()) {
    const noticeFields = (notice ?? {}) as Record<string, unknown>;
    const noticeKind = noticeFields.kind;
    if (typeof noticeKind !== 'string' || !digestNoticeKinds.includes(noticeKind)) {
      return `notices[${index}].kind is ${String(noticeKind)}, not ${digestNoticeKinds.join(', ')}`;
    }
    const required = (requiredFields[noticeKind as DigestNoticeKind] as readonly string[]).filter(
      (field) => !recipientFields.includes(field),
    );
    const missingOfNotice = lacking(
      noticeFields,
      forDeveloper ? [...required, 'reconnectLinkUrl'] : required,
    );
    if (missingOfNotice !== undefined) return `notices[${index}].${missingOfNotice} is missing`;
  }
  return undefined;
}

export function createEmailRenderer(compiled: EmailTemplates = compiledTemplates): EmailRenderer {
  return {
    render(template, data) {
      const templates = Object.hasOwn(compiled, template) ? compiled[template] : undefined;
      if (!templates) throw new Error(`Cannot render the ${template} email: no such template`);
      const kind: OccasionKind = kindOfTemplate(template);
      const wrong = whatIsWrong(template, kind, data);
      if (wrong !== undefined) throw new Error(`Cannot render the ${template} email: ${wrong}`);
      // The fields were checked just above, for this template's kind.
      const view = (viewOf[kind] as (data: EmailData) => EmailView)(data);
      return {
        // One line, whatever the template file's layout: a subject may not carry a line break.
        subject: templates.subject(view).replace(/\s+/g, ' ').trim(),
        html: templates.html(view),
        text: templates.text(view).replace(/\n{3,}/g, '\n\n'),
      };
    },
  };
}

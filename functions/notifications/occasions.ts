/**
 * Occasions: why tokenwatch writes to someone about a token. Each is data, so the send-once
 * ledger, the recipients rule and the templates can name it, and a new kind of email is an
 * entry here with its templates, not a new code path.
 *
 * An occasion is written `expired`, `expiring-<days>`, `reminder-<days>` or `reconnected`; the ledger's records
 * carry it, so one person gets each occasion of a token generation once. A `digest` is a kind of
 * email but no occasion: it gathers notices of the other kinds, each under its own occasion.
 */
/**
 * Who an email is for: the account's owner, a developer on it, or the creator of the reconnect
 * link a client used (whoever made it, owner or developer: they hear of their own link).
 */
export type Audience = 'owner' | 'developer' | 'creator';
export const audiences: readonly Audience[] = ['owner', 'developer', 'creator'];

/** The kinds of email; an occasion is a kind, with its days where the kind has them. */
export type OccasionKind = 'expired' | 'expiring' | 'reminder' | 'reconnected' | 'digest';
/**
 * The kinds the ledger records: every kind but `digest`, an email that carries notices of the
 * other kinds, each of them recorded under its own occasion.
 */
export type LedgerKind = Exclude<OccasionKind, 'digest'>;
/** A kind, with the days before expiry or since the announcement for kinds that repeat. */
export type Occasion = LedgerKind | `${LedgerKind}-${number}`;

interface OccasionKindEntry {
  /** who may hear of it (each still subject to their preference) */
  readonly audiences: readonly Audience[];
}

export const occasionKinds = {
  /** a token was lost (its expiry passed, or Instagram refused it) */
  expired: { audiences: ['owner', 'developer'] },
  /** a token is about to expire: one occasion per warning step, `expiring-<daysLeft>` */
  expiring: { audiences: ['owner', 'developer'] },
  /**
   * a lost token is still lost at the same generation, days after it was announced: one
   * occasion per reminder step, `reminder-<daysSince>`
   */
  reminder: { audiences: ['owner', 'developer'] },
  /**
   * a client stored a new token through a reconnect link: its creator hears of it, once per
   * generation (`reconnected`). It answers the creator's own action, so no preference governs
   * it (preferences.ts), and it goes at once (DESIGN.md "Notices").
   */
  reconnected: { audiences: ['creator'] },
  /**
   * not a ledger occasion of its own: the email that carries several notices (`expired`,
   * `expiring`, `reminder`) of one window to one person, each notice keeping its own occasion in
   * the ledger. The first notice of a window goes at once as its own email; the others of that
   * window go together in one digest at the window's end.
   */
  digest: { audiences: ['owner', 'developer'] },
} as const satisfies Record<OccasionKind, OccasionKindEntry>;

export const kindOf = (occasion: Occasion): LedgerKind =>
  occasion.replace(/-\d+$/, '') as LedgerKind;

/**
 * The occasion of a warning step: `expiring-7`, `expiring-1`. The step, not the time left when
 * the email goes out, so a duplicate event published later is the same occasion.
 */
export const expiringOccasion = (daysLeft: number): Occasion => `expiring-${daysLeft}`;

/**
 * The occasion of a reminder step: `reminder-3`, `reminder-28`. The step (days since the token
 * was first announced lost), not the days counted when the email goes out, so a duplicate event
 * published later is the same occasion.
 */
export const reminderOccasion = (daysSince: number): Occasion => `reminder-${daysSince}`;

/**
 * The ledger's records before occasions existed carry none: such a record is the `expired`
 * email, so nothing already sent is sent again.
 */
export const occasionOfRecord = (stored: string | undefined): Occasion =>
  (stored as Occasion | undefined) ?? 'expired';

/** The template of an email: one per kind of occasion and audience. */
export type TemplateName = {
  [Kind in OccasionKind]: `${Kind}-${(typeof occasionKinds)[Kind]['audiences'][number]}`;
}[OccasionKind];
/** Only a kind's own audiences have templates (a recipient is always of one of them). */
export const templateName = (kind: OccasionKind, audience: Audience): TemplateName =>
  `${kind}-${audience}` as TemplateName;
/** The kind of occasion a template is written for: `expiring` for `expiring-owner`. */
export type TemplateKind<Name extends TemplateName> =
  Name extends `${infer Kind extends OccasionKind}-${Audience}` ? Kind : never;
export const kindOfTemplate = <Name extends TemplateName>(name: Name): TemplateKind<Name> =>
  name.slice(0, name.lastIndexOf('-')) as TemplateKind<Name>;
export const templateNames: readonly TemplateName[] = (
  Object.keys(occasionKinds) as OccasionKind[]
).flatMap((kind) => occasionKinds[kind].audiences.map((audience) => templateName(kind, audience)));

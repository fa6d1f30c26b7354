/**
 * Occasions: why tokenwatch writes to someone about a token. Each is data, so the send-once
 * ledger, the recipients rule and the templates can name it, and a new kind of email is an
 * entry here with its templates, not a new code path.
 *
 * An occasion is written `expired` (later `expiring-<days>` and `reminder-<days>`); the
 * ledger's records carry it, so one person gets each occasion of a token generation once.
 */
export type Audience = 'owner' | 'developer';
export const audiences: readonly Audience[] = ['owner', 'developer'];

/** The kinds of email; an occasion is a kind, with its days where the kind has them. */
export type OccasionKind = 'expired';
/** A kind, with the days before expiry or since the announcement for kinds that repeat. */
export type Occasion = OccasionKind | `${OccasionKind}-${number}`;

interface OccasionKindEntry {
  /** who may hear of it (each still subject to their preference) */
  readonly audiences: readonly Audience[];
}

export const occasionKinds = {
  expired: { audiences: ['owner', 'developer'] },
} as const satisfies Record<OccasionKind, OccasionKindEntry>;

export const kindOf = (occasion: Occasion): OccasionKind =>
  occasion.replace(/-\d+$/, '') as OccasionKind;

/**
 * The ledger's records before occasions existed carry none: such a record is the `expired`
 * email, so nothing already sent is sent again.
 */
export const occasionOfRecord = (stored: string | undefined): Occasion =>
  (stored as Occasion | undefined) ?? 'expired';

/** The template of an email: one per kind of occasion and audience. */
export type TemplateName = `${OccasionKind}-${Audience}`;
export const templateName = (kind: OccasionKind, audience: Audience): TemplateName =>
  `${kind}-${audience}`;
export const templateNames: readonly TemplateName[] = (
  Object.keys(occasionKinds) as OccasionKind[]
).flatMap((kind) => occasionKinds[kind].audiences.map((audience) => templateName(kind, audience)));

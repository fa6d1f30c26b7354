/**
 * `POST /_local/instagram/outcomes`: tells the Instagram stand-in how to answer every refresh of
 * one token from now on (see `setRefreshOutcome` in ./standins/instagram.ts). The token is named
 * as `{accessToken, refresh}`, or, since tokens are never shown to a person, as
 * `{accountId, refresh}`: the account's current token, read from the table. A failing outcome
 * sticks to that token; `ok` lets its next refresh succeed, and the new token starts at `ok`.
 *
 * The answer shows only the token's first characters, never the whole secret; a bad body is a
 * 400 problem (RFC 9457) and changes nothing.
 */
import * as z from '../functions/platform/validation';
import { accessToken, accountId } from '../functions/tokens/account';
import type { TokenKeeper } from '../functions/tokens/accounts';
import { problemTypes, type FieldError, type Problem } from '../functions/platform/http/problem';
import {
  instagramRefreshOutcomes,
  type InstagramStandIn,
  type InstagramRefreshOutcome,
} from './standins/instagram';

export const outcomeRequest = z
  .strictObject({
    accessToken: z.optional(accessToken),
    accountId: z.optional(accountId),
    refresh: z.enum(instagramRefreshOutcomes),
  })
  .check(
    z.refine((body) => (body.accessToken === undefined) !== (body.accountId === undefined), {
      message: 'Name the token with exactly one of accessToken and accountId.',
      path: [],
    }),
  );
export type OutcomeRequest = z.infer<typeof outcomeRequest>;

export interface OutcomeAnswer {
  /** The token's first characters and an ellipsis: never the whole token. */
  accessToken: string;
  refresh: InstagramRefreshOutcome;
  /** Only when the request named the account. */
  accountId?: string;
}

export interface LocalAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface OutcomeDependencies {
  instagram: Pick<InstagramStandIn, 'setRefreshOutcome'>;
  store: Pick<TokenKeeper, 'getAccountWithToken'>;
}

/**
 * What the answer may show of a token: its first 6 characters, or fewer for a short one (at most
 * half of it), so that no token is ever echoed whole.
 */
export const tokenHint = (token: string): string =>
  `${token.slice(0, Math.min(6, Math.floor(token.length / 2)))}…`;

const answer = (status: number, value: unknown, type = 'application/json'): LocalAnswer => ({
  status,
  headers: { 'content-type': type },
  body: JSON.stringify(value),
});

const problem = (value: Problem): LocalAnswer =>
  answer(value.status, value, 'application/problem+json');

const invalid = (errors: FieldError[]): LocalAnswer =>
  problem({
    type: problemTypes.validation,
    title: 'Your request is not valid',
    status: 400,
    detail:
      'Send {"accessToken" or "accountId", "refresh"}, refresh one of ' +
      `${instagramRefreshOutcomes.join(', ')}. Nothing was changed.`,
    errors,
  });

const pointer = (path: readonly PropertyKey[]) =>
  `#${path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`;

/** Handles the endpoint's body (the raw text) and answers it; the caller only routes. */
export async function setInstagramOutcome(
  body: string,
  { instagram, store }: OutcomeDependencies,
): Promise<LocalAnswer> {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return invalid([{ detail: 'The body must be a JSON object.', pointer: '#' }]);
  }
  const parsed = outcomeRequest.safeParse(document);
  if (!parsed.success) {
    return invalid(
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({
              detail: 'This field is not allowed.',
              pointer: pointer([...issue.path, key]),
            }))
          : [{ detail: issue.message, pointer: pointer(issue.path) }],
      ),
    );
  }
  const { refresh, accountId: named } = parsed.data;
  const token =
    parsed.data.accessToken ??
    (named === undefined ? undefined : (await store.getAccountWithToken(named))?.accessToken);
  if (token === undefined) {
    return problem({
      type: problemTypes.blank,
      title: 'Not Found',
      status: 404,
      detail: `There is no Instagram account ${String(named)} in the table. Nothing was changed.`,
    });
  }
  instagram.setRefreshOutcome(token, refresh);
  const result: OutcomeAnswer = {
    accessToken: tokenHint(token),
    refresh,
    ...(named === undefined ? {} : { accountId: named }),
  };
  return answer(200, result);
}

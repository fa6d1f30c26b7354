/**
 * What each route answers, for docs/openapi.json: the response schemas and, per route, the
 * inputs from api-schemas.ts and every status with its meaning. Only `scripts/openapi.ts` and
 * the tests import this module; a handler never does, so no function bundles or builds these
 * schemas at cold start.
 */
import * as z from '#platform/validation';
import {
  accountPath,
  confirmationCodePath,
  preferencesBody,
  reconnectBody,
  signedRequestForm,
  unsubscribeQuery,
} from './schemas';
import {
  developerPath,
  serviceAccountBody,
  serviceUserBody,
  stormActionBody,
  userPath,
} from './service-schemas';
import { isoDateTime, positiveInteger } from '#platform/schemas';
import { emailStatus } from '#people/suppression';
import { userProfile } from '#people/user';
import { notificationPreferences, preferenceName } from '#notifications/preferences';
import { accessToken, accountId } from '#tokens/account';
import { tokenCause, tokenStatus } from '#tokens/lifecycle';
import { reconnectLinkContracts } from './reconnect-link-contracts';

// ---- outputs ---------------------------------------------------------------------------------

const incidentSince = isoDateTime.check(z.describe('When the storm was declared'));
const incidentSummary = z
  .string()
  .check(z.describe('What happened, in words a customer can read (not their fault)'));

export const statusResponse = z
  .strictObject({
    incident: z.nullable(z.strictObject({ since: incidentSince, summary: incidentSummary })),
  })
  .check(z.meta({ id: 'Status' }));

export const stormResponse = z
  .strictObject({
    status: z.enum(['storm', 'calm']),
    incident: z.nullable(
      z.strictObject({
        since: incidentSince,
        summary: incidentSummary,
        tokens: z.int().check(z.describe('Tokens refused or failing to refresh since it began')),
        causes: z
          .record(z.string(), z.int())
          .check(z.describe('How many of each cause or refresh failure')),
      }),
    ),
    held: z
      .int()
      .check(z.describe('Notices held by a storm and not yet sent (after release) or discarded')),
    lastEnded: z.nullable(
      z.strictObject({
        since: isoDateTime,
        action: z.enum(['release', 'discard']),
        at: isoDateTime,
      }),
    ),
  })
  .check(z.meta({ id: 'Storm' }));

const storedPreferences = {
  ...notificationPreferences.shape,
  updatedAt: z.nullable(isoDateTime).check(z.describe('null while the defaults apply')),
};

export const preferencesResponse = z
  .strictObject(storedPreferences)
  .check(z.meta({ id: 'NotificationPreferences' }));

/** GET answers the preferences with what SES said about the caller's address. */
export const preferencesReadResponse = z
  .strictObject({ ...storedPreferences, emailStatus })
  .check(z.meta({ id: 'NotificationSettings' }));

export const accountListResponse = z
  .strictObject({
    accounts: z.array(
      z.strictObject({
        accountId,
        username: z.string(),
        relation: z.enum(['owner', 'developer']),
        tokenStatus,
        cause: z
          .nullable(tokenCause)
          .check(
            z.describe(
              'What happened to a token that is not active: `expired` (its expiry passed), ' +
                '`password-changed` (the account owner must reconnect with the new password), ' +
                '`app-removed` (the account removed the app: reconnect), `checkpoint` (the ' +
                'owner must log in to Instagram once to clear a security check, then reconnect) ' +
                'or `session-invalidated` (Instagram ended the session: reconnect). Always ' +
                'present; `null` while the token is active.',
            ),
          ),
        expiresAt: isoDateTime,
      }),
    ),
  })
  .check(z.meta({ id: 'InstagramAccounts' }));

export const tokenStateResponse = z
  .strictObject({ accountId, tokenStatus, expiresAt: isoDateTime })
  .check(z.meta({ id: 'TokenState' }));

export const serviceUserResponse = userProfile.check(z.meta({ id: 'ServiceUser' }));

export const connectedAccountResponse = z
  .strictObject({ accountId, generation: positiveInteger(), tokenStatus, expiresAt: isoDateTime })
  .check(z.meta({ id: 'ConnectedAccount' }));

/** The one answer anywhere that carries a token. */
export const currentTokenResponse = z
  .strictObject({
    accountId,
    accessToken: accessToken.check(z.describe('The current (possibly refreshed) token')),
    expiresAt: isoDateTime,
    generation: positiveInteger(),
    tokenStatus,
  })
  .check(z.meta({ id: 'CurrentToken' }));

export const unsubscribedResponse = z
  .strictObject({ preference: preferenceName, enabled: z.literal(false) })
  .check(z.meta({ id: 'Unsubscribed' }));

export const dataDeletionResponse = z
  .strictObject({
    url: z.url().check(z.describe("The request's status page")),
    confirmation_code: z.string().check(z.describe('256 random bits, base64url')),
  })
  .check(z.meta({ id: 'DataDeletion' }));

export const deauthorizedResponse = z.strictObject({}).check(z.meta({ id: 'Deauthorized' }));

/** RFC 9457 problem details, with the two extensions this API uses. */
export const problemResponse = z
  .object({
    type: z
      .string()
      .check(z.describe('A URI naming the kind of problem; `about:blank` for plain HTTP')),
    title: z.string(),
    status: z.int(),
    detail: z.optional(z.string()),
    errors: z
      .optional(
        z.array(
          z.object({
            detail: z.string(),
            pointer: z
              .optional(z.string())
              .check(z.describe('JSON Pointer into the body, as `#/field`')),
            parameter: z.optional(z.string()).check(z.describe('A path or query parameter')),
          }),
        ),
      )
      .check(z.describe('Every validation failure, for 400s')),
    reauthorizeUrl: z
      .optional(z.url())
      .check(z.describe("Instagram's authorization page for this account, for 409s")),
  })
  .check(z.meta({ id: 'Problem' }));

// ---- per route -------------------------------------------------------------------------------

export interface ResponseContract {
  description: string;
  /** Omitted for errors, which are always `application/problem+json` with `Problem`. */
  schema?: z.ZodMiniType;
  contentType?: 'application/json' | 'text/html';
}

export interface RouteContract {
  body?: z.ZodMiniType;
  /** How the body is sent; JSON unless said. */
  bodyFormat?: 'json' | 'form';
  path?: z.ZodMiniType;
  query?: z.ZodMiniType;
  responses: Record<number, ResponseContract>;
}

const badRequest = { description: 'The request is malformed; nothing was written' };
const notFound = {
  description: 'No such account, or the caller is neither its owner nor one of its developers',
};
const serviceNotFound = { description: 'No such account' };
const metaRefused = {
  description:
    'No signed request, or one not signed with the app secret, with another algorithm or malformed; nothing changed',
};
const instagramDown = { description: 'Instagram failed or did not answer; nothing was written' };
const instagramBusy = { description: 'Instagram is rate limiting this app; retry later' };

/** Keyed by the route's `entry` in lib/routes.ts. */
export const apiContracts = {
  'get-notification-preferences': {
    responses: {
      200: {
        description: "Stored values, or the defaults, and the caller's email status",
        schema: preferencesReadResponse,
      },
    },
  },
  'put-notification-preferences': {
    body: preferencesBody,
    responses: {
      200: { description: 'The preferences as stored', schema: preferencesResponse },
      400: badRequest,
    },
  },
  'list-instagram-accounts': {
    responses: {
      200: { description: 'Sorted by username', schema: accountListResponse },
    },
  },
  'refresh-instagram-token': {
    path: accountPath,
    responses: {
      200: {
        description: 'The token was extended (or is under 24 hours old and needs no refresh yet)',
        schema: tokenStateResponse,
      },
      400: badRequest,
      404: notFound,
      409: {
        description:
          'The token is expired or invalid: the user must authorize again at `reauthorizeUrl`',
      },
      502: instagramDown,
      503: instagramBusy,
    },
  },
  'reconnect-instagram-token': {
    path: accountPath,
    body: reconnectBody,
    responses: {
      200: { description: 'A new long-lived token is stored', schema: tokenStateResponse },
      400: badRequest,
      404: notFound,
      409: {
        description:
          'Instagram refused the code, or it belongs to another Instagram user; nothing was stored',
      },
      502: instagramDown,
      503: instagramBusy,
    },
  },
  unsubscribe: {
    query: unsubscribeQuery,
    responses: {
      200: {
        description: 'The preference is off (HTML for browsers that ask for it)',
        schema: unsubscribedResponse,
      },
      400: { description: 'The link is forged, altered, malformed or expired; nothing changed' },
    },
  },
  'unsubscribe-page': {
    query: unsubscribeQuery,
    responses: {
      200: {
        description: 'A confirmation page whose button POSTs the link',
        contentType: 'text/html',
      },
      400: { description: 'The link is forged, altered, malformed or expired' },
    },
  },
  'put-service-user': {
    path: userPath,
    body: serviceUserBody,
    responses: {
      200: { description: 'The profile as stored', schema: serviceUserResponse },
      400: badRequest,
    },
  },
  'delete-service-user': {
    path: userPath,
    responses: {
      204: {
        description:
          'Erased (also when unknown): profile, preferences, developer roles, the reconnect links they made, records of emails sent to them and what SES reported about their address; accounts they own stay',
      },
      400: badRequest,
    },
  },
  'put-service-instagram-account': {
    path: accountPath,
    body: serviceAccountBody,
    responses: {
      200: {
        description:
          'Stored: another token is the next generation, watched from now on; the same token changes nothing',
        schema: connectedAccountResponse,
      },
      400: badRequest,
    },
  },
  'delete-service-instagram-account': {
    path: accountPath,
    responses: {
      204: {
        description:
          'No longer watched (also when unknown): its token, roles, links and records are gone',
      },
      400: badRequest,
    },
  },
  'put-service-developer-role': {
    path: developerPath,
    responses: {
      204: { description: 'The user holds a developer role on the account' },
      400: badRequest,
      404: serviceNotFound,
    },
  },
  'delete-service-developer-role': {
    path: developerPath,
    responses: {
      204: { description: 'The user holds no developer role on the account (any more)' },
      400: badRequest,
    },
  },
  'get-service-instagram-token': {
    path: accountPath,
    responses: {
      200: {
        description: "The account's current token: the one answer that carries a token",
        schema: currentTokenResponse,
      },
      400: badRequest,
      404: serviceNotFound,
    },
  },
  'instagram-deauthorize': {
    body: signedRequestForm,
    bodyFormat: 'form',
    responses: {
      200: {
        description:
          "Received: the account's token is invalid (`app-removed`) and its people will be told; the same answer for an unknown user",
        schema: deauthorizedResponse,
      },
      400: metaRefused,
    },
  },
  'instagram-data-deletion': {
    body: signedRequestForm,
    bodyFormat: 'form',
    responses: {
      200: {
        description:
          'Everything about the account is deleted (the same answer for an unknown user): the status page and its confirmation code',
        schema: dataDeletionResponse,
      },
      400: metaRefused,
    },
  },
  'instagram-data-deletion-status': {
    path: confirmationCodePath,
    responses: {
      200: { description: "The request's status, as a page", contentType: 'text/html' },
      400: { description: 'The code is malformed' },
      404: { description: 'No request has this confirmation code (a page)' },
    },
  },
  ...reconnectLinkContracts({ badRequest, notFound }),
  'get-status': {
    responses: {
      200: {
        description: 'Whether tokenwatch is in a storm; `incident` is null when it is not',
        schema: statusResponse,
      },
    },
  },
  'get-service-storm': {
    responses: {
      200: { description: "The storm guard's state", schema: stormResponse },
    },
  },
  'end-service-storm': {
    body: stormActionBody,
    responses: {
      200: { description: 'The storm ended; the state after', schema: stormResponse },
      400: badRequest,
      409: { description: 'No storm is on: nothing changed' },
    },
  },
} satisfies Record<string, RouteContract>;

export type ApiEntry = keyof typeof apiContracts;

/**
 * What the reconnect link routes answer, for docs/openapi.json (contracts.ts composes them):
 * their response schemas, and every status with its meaning. The pages a link's holder sees are
 * HTML, errors included.
 */
import * as z from '#platform/validation';
import { isoDateTime, schema } from '#platform/schemas';
import { userId } from '#people/user';
import { linkId, linkStatuses } from '#tokens/reconnect-links';
import {
  accountPath,
  reconnectCallbackQuery,
  reconnectLinkPath,
  reconnectPagePath,
  reconnectPageQuery,
} from './schemas';

// ---- outputs ---------------------------------------------------------------------------------

export const createdReconnectLinkResponse = /* @__PURE__ */ schema(() =>
  z
    .strictObject({
      linkId,
      url: z
        .url()
        .check(
          z.describe(
            "The link to hand to the client. It holds the link's secret, shown here only: it cannot be read again.",
          ),
        ),
      expiresAt: isoDateTime,
    })
    .check(z.meta({ id: 'CreatedReconnectLink' })),
);

export const reconnectLinksResponse = /* @__PURE__ */ schema(() =>
  z
    .strictObject({
      links: z.array(
        z.strictObject({
          linkId,
          createdBy: userId,
          createdAt: isoDateTime,
          expiresAt: isoDateTime,
          status: z
            .enum(linkStatuses)
            .check(z.describe('A used link stays used; then revoked; then expired')),
        }),
      ),
    })
    .check(z.meta({ id: 'ReconnectLinks' })),
);

// ---- per route -------------------------------------------------------------------------------

export function reconnectLinkContracts(common: {
  badRequest: { description: string };
  notFound: { description: string };
}) {
  const { badRequest, notFound } = common;
  return {
    'create-reconnect-link': {
      path: accountPath,
      responses: {
        201: {
          description: 'The link, with its secret in `url`',
          schema: createdReconnectLinkResponse,
        },
        400: badRequest,
        404: notFound,
        409: {
          description:
            'The account already has 20 active links: revoke one, or wait until one is used or expires',
        },
      },
    },
    'list-reconnect-links': {
      path: accountPath,
      responses: {
        200: { description: 'Newest first; never a secret', schema: reconnectLinksResponse },
        400: badRequest,
        404: notFound,
      },
    },
    'revoke-reconnect-link': {
      path: reconnectLinkPath,
      responses: {
        204: {
          description:
            'The link no longer works (also when revoked before; a used link stays used)',
        },
        400: badRequest,
        404: { description: 'No such account for the caller, or the account has no such link' },
      },
    },
    'reconnect-link-page': {
      path: reconnectPagePath,
      query: reconnectPageQuery,
      responses: {
        200: {
          description: "Who asks, for which account, and a link to Instagram's authorize page",
          contentType: 'text/html',
        },
        404: {
          description: 'The link is unknown, damaged or its key wrong (one page for all)',
          contentType: 'text/html',
        },
        410: {
          description: 'The link was used, has expired or was revoked',
          contentType: 'text/html',
        },
      },
    },
    'reconnect-link-callback': {
      query: reconnectCallbackQuery,
      responses: {
        200: {
          description:
            'Reconnected (the next generation is stored, by `link:<linkId>`), or access was not allowed on Instagram and nothing changed',
          contentType: 'text/html',
        },
        400: {
          description: 'Instagram did not accept the code: open the link again',
          contentType: 'text/html',
        },
        404: { description: 'The state is no link state, or forged', contentType: 'text/html' },
        409: {
          description:
            'Another Instagram account logged in (nothing stored, the link stays usable), or the link is in use right now',
          contentType: 'text/html',
        },
        410: {
          description: 'The link was used, has expired or was revoked',
          contentType: 'text/html',
        },
        502: { description: 'Instagram did not answer; nothing stored', contentType: 'text/html' },
      },
    },
  } as const;
}

/**
 * GET /instagram/data-deletion/{confirmationCode}: the status page of a data deletion Meta
 * asked for, for whoever holds its code. An unknown code is a 404 page.
 */
import { confirmationCodePath } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import { escapeHtml, html, page } from '#platform/http/responses';
import { createDataDeletions } from '#tokens/data-deletions';
import type { ConfigShapeOf } from './environment/variables';

const config = readConfig({
  TABLE_NAME: envString(),
} satisfies ConfigShapeOf<'instagram-data-deletion-status'>);
const deletions = createDataDeletions(documentClient(), config.TABLE_NAME);

const when = (instant: string) => new Date(instant).toUTCString().replace(/ GMT$/, ' UTC');

export const handler = httpHandler(
  { auth: 'none', path: confirmationCodePath, htmlForBrowsers: true },
  async ({ path }) => {
    const found = await deletions.find(path.confirmationCode);
    if (!found) {
      return html(
        404,
        page(
          'No such deletion request',
          '<p>There is no data deletion request with this confirmation code. Check that the link is complete.</p>',
        ),
      );
    }
    return html(
      200,
      page(
        'Your data was deleted',
        `<p>On ${escapeHtml(when(found.requestedAt))}, at your request through Instagram, tokenwatch deleted everything it held about your Instagram account: its access token, who was told about it, and the records of the emails sent about it.</p>
<p>Nothing about that account is kept. This page itself will be gone after 90 days.</p>`,
      ),
    );
  },
);

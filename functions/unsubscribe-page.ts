/**
 * GET /unsubscribe?token=…: the page an unsubscribe link opens. It changes nothing (mail
 * scanners fetch links), says what the button will turn off, and its button POSTs the same
 * link. A forged, altered or expired link gets an explanation instead of a button.
 */
import { unsubscribeQuery } from '#api/schemas';
import { documentClient } from '#platform/dynamodb';
import { envString, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { escapeHtml, html, page } from '#platform/http/responses';
import { createPreferencesRepository } from '#notifications/preferences-store';
import { preferenceLabel, unsubscribeKey } from '#notifications/unsubscribe';
import { verifyUnsubscribeToken } from '#notifications/unsubscribe-link';

const config = readConfig({
  TABLE_NAME: envString(),
  UNSUBSCRIBE_KEY_SECRET_ID: envString(),
} satisfies ConfigShapeOf<'unsubscribe-page'>);
const store = createPreferencesRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler(
  // Always a browser here: errors are pages too.
  { auth: 'none', query: unsubscribeQuery, htmlForBrowsers: true },
  async ({ query }) => {
    const request = verifyUnsubscribeToken(
      query.token,
      await unsubscribeKey(config.UNSUBSCRIBE_KEY_SECRET_ID),
      new Date(),
    );
    const label = escapeHtml(preferenceLabel(request.preference));
    const current = await store.getPreferences(request.userId);
    if (!current[request.preference]) {
      return html(200, page('Already unsubscribed', `<p>“${label}” is already off.</p>`));
    }
    // Relative, so the form posts back to this very path whatever stage prefix it sits under.
    const action = `?token=${encodeURIComponent(query.token)}`;
    return html(
      200,
      page(
        'Unsubscribe?',
        `<p>Turn off “${label}”?</p>
<form method="post" action="${escapeHtml(action)}"><button type="submit">Unsubscribe</button></form>`,
      ),
    );
  },
);

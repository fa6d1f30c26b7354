/**
 * POST /unsubscribe?token=…: one-click unsubscribe (RFC 8058). The signed token names the user
 * and the preference; a valid one turns that preference off, anything else changes nothing.
 * Mail clients POST `List-Unsubscribe=One-Click` as a form, which is ignored; browsers (the
 * confirmation page's button) get a page back, everyone else JSON.
 */
import * as z from '#platform/validation';
import { unsubscribeQuery } from '#api/schemas';
import { documentClient } from '#platform/dynamodb';
import { envString, envUrl, readConfig } from '#platform/config';
import type { ConfigShapeOf } from './environment/variables';
import { httpHandler } from '#api/handler';
import { escapeHtml, html, json, page, prefersHtml } from '#platform/http/responses';
import { logger } from '#platform/observability';
import { createPreferencesRepository } from '#notifications/preferences-store';
import { preferenceLabel, unsubscribeKey } from '#notifications/unsubscribe';
import { verifyUnsubscribeToken } from '#notifications/unsubscribe-link';

const config = readConfig({
  TABLE_NAME: envString(),
  UNSUBSCRIBE_KEY_SECRET_ID: envString(),
  APP_URL: z.optional(envUrl()),
} satisfies ConfigShapeOf<'unsubscribe'>);
const store = createPreferencesRepository(documentClient(), config.TABLE_NAME);

export const handler = httpHandler(
  { auth: 'none', query: unsubscribeQuery, htmlForBrowsers: true, ignoresBody: true },
  async ({ query, headers }) => {
    const now = new Date();
    const request = verifyUnsubscribeToken(
      query.token,
      await unsubscribeKey(config.UNSUBSCRIBE_KEY_SECRET_ID),
      now,
    );
    await store.turnOffPreference(request.userId, request.preference, now);
    logger.info('Unsubscribed through a signed link', {
      userId: request.userId,
      preference: request.preference,
    });
    if (!prefersHtml(headers.accept)) {
      return json(200, { preference: request.preference, enabled: false });
    }
    const settings = config.APP_URL
      ? `<p><a href="${escapeHtml(`${config.APP_URL.replace(/\/+$/, '')}/settings`)}">Notification settings</a></p>`
      : '';
    return html(
      200,
      page(
        'You are unsubscribed',
        `<p>“${escapeHtml(preferenceLabel(request.preference))}” is now off. You can turn it on again in your settings.</p>${settings}`,
      ),
    );
  },
);

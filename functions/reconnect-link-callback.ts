/**
 * GET /reconnect/callback?code=…&state=…: Instagram sends a reconnect link's holder back here
 * (the app's second redirect URI, INSTAGRAM_LINK_REDIRECT_URI). Finishes the link once: the new
 * token of the same Instagram user is stored as the next generation, by `link:<linkId>`, and the
 * page says what happened in plain words.
 */
import { reconnectCallbackQuery } from '#api/schemas';
import { httpHandler } from '#api/handler';
import { reconnectPage } from '#api/reconnect-pages';
import { finishReconnectLink } from '#tokens/reconnect-link-flows';
import { linkFinishDependencies } from '#tokens/wiring';

const dependencies = linkFinishDependencies();

export const handler = httpHandler(
  { auth: 'none', query: reconnectCallbackQuery, htmlForBrowsers: true },
  async ({ query }) => reconnectPage(await finishReconnectLink(dependencies, query)),
);

/**
 * The pages a reconnect link's holder sees: the client of a developer, who has never heard of
 * tokenwatch. Each outcome of reconnect-link-flows.ts is one page, in plain words, with the
 * status that fits it. The page's own URL holds the link's secret: `html` sends it with
 * `Referrer-Policy: no-referrer`, no caching and a CSP without scripts.
 */
import { escapeHtml, html, page, type HttpResult } from '#platform/http/responses';
import type { LinkOutcome } from '#tokens/reconnect-link-flows';

/** Who asks, when their name is unknown (no profile, or no longer one). */
const someone = 'The person who looks after your website';

const paragraph = (text: string) => `<p>${text}</p>`;

export function reconnectPage(outcome: LinkOutcome): HttpResult {
  if (outcome.kind === 'unknown') {
    return html(
      404,
      page(
        'This link does not work',
        paragraph(
          'Check that you opened the whole link, exactly as you received it. If it still does not work, ask the person who sent it to you for a new one.',
        ),
      ),
    );
  }
  const account = `@${escapeHtml(outcome.username)}`;
  const named = 'askedBy' in outcome && outcome.askedBy !== undefined;
  const asker = named ? escapeHtml(outcome.askedBy ?? '') : someone;
  const askFor = `ask ${named ? asker : 'the person who sent it to you'} for a new link`;
  switch (outcome.kind) {
    case 'ready':
      return html(
        200,
        page(
          `Reconnect ${outcome.username} on Instagram`,
          [
            paragraph(
              `${asker} asks you to reconnect your Instagram account ${account} to their website's Instagram feed, so that it shows your latest posts again.`,
            ),
            paragraph(
              `The button takes you to Instagram's own page. Log in there as ${account} and allow access. Your password is never shared with ${named ? asker : 'them'} or with anyone else, and you can remove the access at any time in Instagram's settings.`,
            ),
            `<p><a class="button" rel="noreferrer" href="${escapeHtml(outcome.authorizeUrl)}">Continue to Instagram</a></p>`,
            paragraph(
              'This link works once. If you are not sure about it, ask before you continue.',
            ),
          ].join('\n'),
        ),
      );
    case 'unusable': {
      const texts = {
        used: [
          'This link was already used',
          `${account} was already reconnected with this link. If the feed still does not update, ${askFor}.`,
        ],
        expired: [
          'This link has expired',
          `Links like this one work for a few days only. To reconnect ${account}, ${askFor}.`,
        ],
        revoked: [
          'This link no longer works',
          `It was cancelled. If you still need to reconnect ${account}, ${askFor}.`,
        ],
      } as const;
      const [title, text] = texts[outcome.status];
      return html(410, page(title, paragraph(text)));
    }
    case 'in-use':
      return html(
        409,
        page(
          'This link is being used right now',
          paragraph(
            `Someone is reconnecting ${account} with this link at this very moment, perhaps in another window. Wait a minute, then open the link again to see whether it worked.`,
          ),
        ),
      );
    case 'reconnected':
      return html(
        200,
        page(
          `${outcome.username} is reconnected`,
          paragraph(
            `Thank you. ${account} is reconnected, and the Instagram feed on the website will update again. You can close this page.`,
          ),
        ),
      );
    case 'wrong-account':
      return html(
        409,
        page(
          'That was another Instagram account',
          paragraph(
            `You logged in to Instagram with an account other than ${account}, so nothing was changed. Log out of Instagram (or use a private browser window), then open the link you were sent again and log in as ${account}.`,
          ),
        ),
      );
    case 'not-allowed':
      return html(
        200,
        page(
          'Nothing was changed',
          paragraph(
            `You did not allow access on Instagram, so ${account} was not reconnected. If you change your mind, open the link you were sent again.`,
          ),
        ),
      );
    case 'code-rejected':
      return html(
        400,
        page(
          'That did not work',
          paragraph(
            `Instagram did not confirm the login, so ${account} was not reconnected. Please open the link you were sent again and try once more.`,
          ),
        ),
      );
    case 'instagram-unavailable':
      return html(
        502,
        page(
          'Instagram did not answer',
          paragraph(
            `Instagram could not be reached just now, so ${account} was not reconnected. Please try again in a few minutes: open the link you were sent again.`,
          ),
        ),
      );
  }
}

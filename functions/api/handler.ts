/**
 * tokenwatch's route-handler builder: the shared HTTP chain (platform/http/handler.ts) with the
 * product's failures answered as problems (problems.ts) and its callers' ids checked: a user
 * route takes a user's token (never a service token), a service route a token with the scope
 * `tokenwatch/service`. Every route handler is built with it.
 */
import { defineHttpHandler, scopesOf } from '#platform/http/handler';
import { userId } from '#people/user';
import { problemFor } from './problems';
import { serviceScope } from './scopes';

export { serviceScope };

export const httpHandler = defineHttpHandler({
  problemFor,
  isCaller: (sub, claims) => {
    // A service JWT is nobody's user (DESIGN.md): its `sub` is a client, not a person.
    if (scopesOf(claims).includes(serviceScope))
      return 'A service token names no user of this API: this route is for a signed-in user.';
    // The caller is a user id (DESIGN.md): a `sub` that cannot be one is refused before any
    // handler keys the table with it (a key past DynamoDB's size limit was a 500).
    if (!userId.safeParse(sub).success)
      return 'The bearer token names no user of this API: its subject is longer than a user id.';
    return true;
  },
  // `auth: 'service'` routes: the widget service's client-credentials token.
  serviceScope,
});

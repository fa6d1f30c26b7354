/**
 * tokenwatch's route-handler builder: the shared HTTP chain (platform/http/handler.ts) with the
 * product's failures answered as problems (problems.ts) and its callers' ids checked. Every
 * route handler is built with it.
 */
import { defineHttpHandler } from '#platform/http/handler';
import { userId } from '#people/user';
import { problemFor } from './problems';

export const httpHandler = defineHttpHandler({
  problemFor,
  // The caller is a user id (DESIGN.md): a `sub` that cannot be one is refused before any
  // handler keys the table with it (a key past DynamoDB's size limit was a 500).
  isCaller: (sub) => userId.safeParse(sub).success,
});

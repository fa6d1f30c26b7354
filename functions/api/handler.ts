/**
 * tokenwatch's route-handler builder: the shared HTTP chain (platform/http/handler.ts) with the
 * product's failures answered as problems (problems.ts). Every route handler is built with it.
 */
import { defineHttpHandler } from '#platform/http/handler';
import { problemFor } from './problems';

export const httpHandler = defineHttpHandler(problemFor);

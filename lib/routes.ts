/**
 * The HTTP API's routes as plain data: the CDK API construct deploys exactly these, the local
 * stack serves exactly these, and the OpenAPI document describes exactly these. No aws-cdk-lib
 * import here, so the local stack can read it without loading the CDK.
 */
import type { FunctionName } from '../functions/environment/variables';
import { serviceScope } from '../functions/api/scopes';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:Query'
  | 'dynamodb:DescribeTable';

export interface TableAccess {
  table: readonly TableAction[];
  indexes?: Readonly<Record<string, readonly TableAction[]>>;
}

export interface RouteDefinition<Entry extends FunctionName = FunctionName> {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** API Gateway v2 form, e.g. `/instagram-accounts/{accountId}/token/refresh`. */
  path: string;
  /** The file in `functions/` without `.ts`; it exports `handler`. */
  entry: Entry;
  /**
   * `jwt`: API Gateway's JWT authorizer runs first and the caller is the token's `sub`, a user.
   * `service`: the service authorizer runs first and the token must carry one of `scopes` (API
   * Gateway answers 403 otherwise): the widget service's client-credentials token.
   */
  auth: 'jwt' | 'service' | 'none';
  /** The OAuth scopes API Gateway requires on the route (`authorizationScopes`). */
  scopes?: readonly string[];
  /**
   * Exactly the DynamoDB actions the handler calls, on the table and per index: the stack grants
   * these and nothing else (no Scan, no whole-table read or write).
   */
  table: TableAccess;
  /** Puts `Instagram Token Refreshed` on the bus (EVENT_BUS_NAME). */
  publishesEvents?: boolean;
  /** Reads the Instagram app id and secret from Secrets Manager (INSTAGRAM_APP_SECRET_ID). */
  readsInstagramApp?: boolean;
  /** Reads the unsubscribe signing key from Secrets Manager (UNSUBSCRIBE_KEY_SECRET_ID). */
  readsUnsubscribeKey?: boolean;
  /** Calls Instagram (INSTAGRAM_GRAPH_URL, INSTAGRAM_API_URL, INSTAGRAM_AUTHORIZE_URL, INSTAGRAM_REDIRECT_URI). */
  callsInstagram?: boolean;
  summary: string;
}

/** The service API (DESIGN.md): the widget service's client-credentials token, and its scope. */
const service = { auth: 'service', scopes: [serviceScope] } as const;

function serviceRoutes() {
  return [
    {
      ...service,
      method: 'PUT',
      path: '/service/users/{userId}',
      entry: 'put-service-user',
      table: { table: ['dynamodb:PutItem'] },
      summary: "Stores a user's email and name (idempotent)",
    },
    {
      ...service,
      method: 'DELETE',
      path: '/service/users/{userId}',
      entry: 'delete-service-user',
      table: {
        table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
        indexes: { 'accounts-by-member': ['dynamodb:Query'] },
      },
      summary:
        'Erases a user: profile, preferences, roles, links they made, records of emails (not accounts they own)',
    },
    {
      ...service,
      method: 'PUT',
      path: '/service/instagram-accounts/{accountId}',
      entry: 'put-service-instagram-account',
      table: { table: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      summary:
        'Connects an account with its current token: another token is the next generation, the same token changes nothing',
    },
    {
      ...service,
      method: 'DELETE',
      path: '/service/instagram-accounts/{accountId}',
      entry: 'delete-service-instagram-account',
      table: { table: ['dynamodb:Query', 'dynamodb:BatchWriteItem'] },
      summary: 'Stops watching an account and deletes its token, roles, links and records',
    },
    {
      ...service,
      method: 'PUT',
      path: '/service/instagram-accounts/{accountId}/developers/{userId}',
      entry: 'put-service-developer-role',
      table: { table: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
      summary: 'Gives a user a developer role on an account',
    },
    {
      ...service,
      method: 'DELETE',
      path: '/service/instagram-accounts/{accountId}/developers/{userId}',
      entry: 'delete-service-developer-role',
      table: { table: ['dynamodb:DeleteItem'] },
      summary: "Takes a user's developer role on an account away",
    },
    {
      ...service,
      method: 'GET',
      path: '/service/instagram-accounts/{accountId}/token',
      entry: 'get-service-instagram-token',
      table: { table: ['dynamodb:GetItem'] },
      summary: "The account's current token: the one answer that carries a token",
    },
    {
      ...service,
      method: 'GET',
      path: '/service/storm',
      entry: 'get-service-storm',
      table: { table: ['dynamodb:GetItem'], indexes: { 'due-tokens': ['dynamodb:Query'] } },
      summary: "The storm guard's state: the incident, its causes, the notices held",
    },
    {
      ...service,
      method: 'POST',
      path: '/service/storm',
      entry: 'end-service-storm',
      // UpdateItem and DeleteItem: one transaction ends the storm and clears its hour counters.
      table: {
        table: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        indexes: { 'due-tokens': ['dynamodb:Query'] },
      },
      summary: 'Ends the storm: release sends the held notices, discard drops them (recorded)',
    },
  ] as const;
}

/**
 * Meta's callbacks (DESIGN.md): no token, but a request signed with the Instagram app secret.
 * The URLs to enter in Meta's app dashboard are these paths under the API's URL (README).
 */
function metaCallbackRoutes() {
  return [
    {
      method: 'POST',
      path: '/instagram/deauthorize',
      entry: 'instagram-deauthorize',
      auth: 'none',
      // The storm guard's counters and state, and DescribeTable for the fleet's size.
      table: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DescribeTable'] },
      readsInstagramApp: true,
      summary: "Meta's deauthorize callback: the account's token becomes invalid (app-removed)",
    },
    {
      method: 'POST',
      path: '/instagram/data-deletion',
      entry: 'instagram-data-deletion',
      auth: 'none',
      table: { table: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem'] },
      readsInstagramApp: true,
      summary: "Meta's data deletion callback: everything about the account is deleted",
    },
    {
      method: 'GET',
      path: '/instagram/data-deletion/{confirmationCode}',
      entry: 'instagram-data-deletion-status',
      auth: 'none',
      table: { table: ['dynamodb:GetItem'] },
      summary: 'The status page of a data deletion Meta asked for, by its confirmation code',
    },
  ] as const;
}

/**
 * Reconnect links (DESIGN.md): made, listed and revoked by the owner or a developer; the page
 * behind a link and Instagram's redirect back need no login, the link's secret (and the state's
 * MAC under the Instagram app secret) authorize them.
 */
function reconnectLinkRoutes() {
  return [
    {
      method: 'POST',
      path: '/instagram-accounts/{accountId}/reconnect-links',
      entry: 'create-reconnect-link',
      auth: 'jwt',
      table: {
        table: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
      },
      summary: 'Makes a reconnect link for the client: its URL holds a secret shown only here',
    },
    {
      method: 'GET',
      path: '/instagram-accounts/{accountId}/reconnect-links',
      entry: 'list-reconnect-links',
      auth: 'jwt',
      table: { table: ['dynamodb:GetItem', 'dynamodb:Query'] },
      summary: "The account's reconnect links and their status, never their secrets",
    },
    {
      method: 'DELETE',
      path: '/instagram-accounts/{accountId}/reconnect-links/{linkId}',
      entry: 'revoke-reconnect-link',
      auth: 'jwt',
      table: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
      summary: 'Revokes a reconnect link (a used one stays used)',
    },
    {
      method: 'GET',
      path: '/reconnect/{accountId}/{linkId}',
      entry: 'reconnect-link-page',
      auth: 'none',
      table: { table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'] },
      readsInstagramApp: true,
      summary:
        "The page behind a reconnect link: who asks, and the way to Instagram's authorize page",
    },
    {
      method: 'GET',
      path: '/reconnect/callback',
      entry: 'reconnect-link-callback',
      auth: 'none',
      table: { table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
      publishesEvents: true,
      readsInstagramApp: true,
      callsInstagram: true,
      summary:
        "Instagram's redirect back from a reconnect link: stores the same user's new token, uses the link up",
    },
  ] as const;
}

const routeTable = [
  {
    method: 'GET',
    path: '/me/notification-preferences',
    entry: 'get-notification-preferences',
    auth: 'jwt',
    table: { table: ['dynamodb:GetItem'] },
    summary:
      "The caller's notification preferences, or the defaults, and whether email reaches their address",
  },
  {
    method: 'PUT',
    path: '/me/notification-preferences',
    entry: 'put-notification-preferences',
    auth: 'jwt',
    table: { table: ['dynamodb:PutItem'] },
    summary: "Replaces the caller's notification preferences",
  },
  {
    method: 'GET',
    path: '/me/instagram-accounts',
    entry: 'list-instagram-accounts',
    auth: 'jwt',
    table: {
      table: ['dynamodb:BatchGetItem'],
      indexes: { 'accounts-by-member': ['dynamodb:Query'] },
    },
    summary: 'The Instagram accounts the caller owns or is a developer of, with token status',
  },
  {
    method: 'POST',
    path: '/instagram-accounts/{accountId}/token/refresh',
    entry: 'refresh-instagram-token',
    auth: 'jwt',
    table: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    publishesEvents: true,
    readsInstagramApp: true,
    callsInstagram: true,
    summary: "Extends an active token's life with Instagram, as its owner or a developer",
  },
  {
    method: 'POST',
    path: '/instagram-accounts/{accountId}/token',
    entry: 'reconnect-instagram-token',
    auth: 'jwt',
    table: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    publishesEvents: true,
    readsInstagramApp: true,
    callsInstagram: true,
    summary: "Stores a new token from Instagram's authorization code for the same Instagram user",
  },
  {
    method: 'POST',
    path: '/unsubscribe',
    entry: 'unsubscribe',
    auth: 'none',
    table: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] },
    readsUnsubscribeKey: true,
    summary: 'One-click unsubscribe (RFC 8058): turns off the preference a signed link names',
  },
  {
    method: 'GET',
    path: '/unsubscribe',
    entry: 'unsubscribe-page',
    auth: 'none',
    table: { table: ['dynamodb:GetItem'] },
    readsUnsubscribeKey: true,
    summary: 'A confirmation page for an unsubscribe link, with a button that POSTs it',
  },
  {
    method: 'GET',
    path: '/status',
    entry: 'get-status',
    auth: 'none',
    table: { table: ['dynamodb:GetItem'] },
    summary: 'Whether tokenwatch is in a storm (an incident on Instagram’s side), for a banner',
  },
  ...reconnectLinkRoutes(),
  ...metaCallbackRoutes(),
  ...serviceRoutes(),
] as const satisfies readonly RouteDefinition[];

/** The functions that serve a route. */
export type RouteEntry = (typeof routeTable)[number]['entry'];

export const routes: readonly RouteDefinition<RouteEntry>[] = routeTable;

/** CORS for the browser frontend; the allowed origin is the configured app URL's, only. */
export const cors = {
  allowMethods: ['GET', 'PUT', 'POST', 'DELETE'] as const,
  allowHeaders: ['authorization', 'content-type'] as const,
  maxAgeSeconds: 600,
};

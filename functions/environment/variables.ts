/**
 * What each Lambda reads from its environment, declared once, by name. The handler's readConfig
 * shape, the CDK construct that deploys it, the local stack and the tests are all typed against
 * this table, so a variable one of them forgets, or one nobody declared, fails `tsc`.
 *
 * Plain data with no imports: handlers import only its types, so no byte of it reaches a bundle.
 * How a variable is parsed and validated stays with its handler's readConfig shape.
 */

/**
 * `optional`: the handler starts without it (it falls back, or does without). Deployments still
 * set every variable; only the local stack and the tests may leave an optional one out.
 */
type Presence = 'required' | 'optional';

const tableOnly = { TABLE_NAME: 'required' } as const;

/** How much trouble in an hour is a storm (functions/storm/wiring.ts). */
const stormSettings = { STORM_MIN_TOKENS: 'optional', STORM_SHARE: 'optional' } as const;

/** When stored tokens are refreshed and warned about (functions/tokens/token-schedule.ts). */
const tokenSchedule = { REFRESH_BEFORE_DAYS: 'optional', WARN_BEFORE_DAYS: 'optional' } as const;

/** The refresh and reconnect flows read the same variables (functions/tokens/wiring.ts). */
const tokenFlow = {
  TABLE_NAME: 'required',
  EVENT_BUS_NAME: 'required',
  INSTAGRAM_GRAPH_URL: 'required',
  INSTAGRAM_API_URL: 'required',
  INSTAGRAM_AUTHORIZE_URL: 'required',
  INSTAGRAM_REDIRECT_URI: 'required',
  INSTAGRAM_APP_SECRET_ID: 'required',
  ...tokenSchedule,
} as const;

/** A reconnect link's page and its callback: Instagram with the link redirect URI. */
const linkInstagram = {
  INSTAGRAM_AUTHORIZE_URL: 'required',
  INSTAGRAM_LINK_REDIRECT_URI: 'required',
  INSTAGRAM_APP_SECRET_ID: 'required',
} as const;

export const functionEnvironments = {
  'check-expired-tokens': {
    TABLE_NAME: 'required',
    EVENT_BUS_NAME: 'required',
    CHECK_LOOKBACK_DAYS: 'optional',
    REMIND_AFTER_DAYS: 'optional',
    ...tokenSchedule,
  },
  'refresh-due-tokens': {
    TABLE_NAME: 'required',
    REFRESH_QUEUE_URL: 'required',
    REFRESH_LOOKBACK_DAYS: 'optional',
    INSTAGRAM_MAX_REFRESH_RATE: 'optional',
    REFRESH_INTERVAL_MINUTES: 'optional',
  },
  'auto-refresh-token': {
    ...tokenFlow,
    INSTAGRAM_MAX_REFRESH_RATE: 'optional',
    ...stormSettings,
  },
  'notify-expired-token': {
    TABLE_NAME: 'required',
    SENDER_ADDRESS: 'required',
    APP_URL: 'required',
    UNSUBSCRIBE_URL: 'required',
    UNSUBSCRIBE_KEY_SECRET_ID: 'required',
    SES_CONFIGURATION_SET: 'optional',
    SES_MAX_SEND_RATE: 'optional',
    NOTIFY_MAX_CONCURRENCY: 'optional',
    NOTIFICATION_LEASE_SECONDS: 'optional',
    EVENT_BUS_NAME: 'optional',
    DIGEST_WINDOW_MINUTES: 'optional',
  },
  'get-notification-preferences': tableOnly,
  'put-notification-preferences': tableOnly,
  'list-instagram-accounts': tableOnly,
  'refresh-instagram-token': tokenFlow,
  'reconnect-instagram-token': tokenFlow,
  unsubscribe: {
    TABLE_NAME: 'required',
    UNSUBSCRIBE_KEY_SECRET_ID: 'required',
    APP_URL: 'optional',
  },
  'unsubscribe-page': { TABLE_NAME: 'required', UNSUBSCRIBE_KEY_SECRET_ID: 'required' },
  'put-service-user': tableOnly,
  'delete-service-user': tableOnly,
  'put-service-instagram-account': { TABLE_NAME: 'required', ...tokenSchedule },
  'delete-service-instagram-account': tableOnly,
  'put-service-developer-role': tableOnly,
  'delete-service-developer-role': tableOnly,
  'get-service-instagram-token': tableOnly,
  'get-service-storm': tableOnly,
  'end-service-storm': tableOnly,
  'get-status': tableOnly,
  'flush-digests': {
    TABLE_NAME: 'required',
    SENDER_ADDRESS: 'required',
    APP_URL: 'required',
    UNSUBSCRIBE_URL: 'required',
    UNSUBSCRIBE_KEY_SECRET_ID: 'required',
    SES_CONFIGURATION_SET: 'optional',
    SES_MAX_SEND_RATE: 'optional',
    NOTIFY_MAX_CONCURRENCY: 'optional',
    NOTIFICATION_LEASE_SECONDS: 'optional',
    DIGEST_WINDOW_MINUTES: 'optional',
    DIGEST_LOOKBACK_DAYS: 'optional',
  },
  'record-email-feedback': tableOnly,
  'instagram-deauthorize': {
    TABLE_NAME: 'required',
    INSTAGRAM_APP_SECRET_ID: 'required',
    ...stormSettings,
  },
  'instagram-data-deletion': {
    TABLE_NAME: 'required',
    INSTAGRAM_APP_SECRET_ID: 'required',
    API_URL: 'required',
  },
  'instagram-data-deletion-status': tableOnly,
  'create-reconnect-link': {
    TABLE_NAME: 'required',
    API_URL: 'required',
    RECONNECT_LINK_HOURS: 'optional',
  },
  'list-reconnect-links': tableOnly,
  'revoke-reconnect-link': tableOnly,
  'reconnect-link-page': { TABLE_NAME: 'required', ...linkInstagram },
  'reconnect-link-callback': {
    TABLE_NAME: 'required',
    EVENT_BUS_NAME: 'required',
    INSTAGRAM_GRAPH_URL: 'required',
    INSTAGRAM_API_URL: 'required',
    ...linkInstagram,
    ...tokenSchedule,
  },
} as const satisfies Record<string, Readonly<Record<string, Presence>>>;

/** A Lambda, by its entry file in `functions/` without `.ts`. */
export type FunctionName = keyof typeof functionEnvironments;

type Declared<F extends FunctionName> = (typeof functionEnvironments)[F];

/** Every variable any of the functions `F` reads (distributes over a union of functions). */
export type VariableOf<F extends FunctionName> = F extends FunctionName
  ? keyof Declared<F> & string
  : never;

type RequiredOf<F extends FunctionName> = F extends FunctionName
  ? { [V in VariableOf<F>]: Declared<F>[V] extends 'required' ? V : never }[VariableOf<F>]
  : never;

/** A handler's readConfig shape: one entry for each variable it declares, and no other. */
export type ConfigShapeOf<F extends FunctionName> = Record<VariableOf<F>, unknown>;

/** What a deployment sets for the functions `F`: every variable they declare. */
export type DeployedEnvironment<F extends FunctionName> = Record<VariableOf<F>, string>;

/**
 * What a process that runs the handlers of `F` must set for all of them to start (the local
 * stack, the tests): a variable is required when any of them requires it.
 */
export type EnvironmentFor<F extends FunctionName> = Record<RequiredOf<F>, string> &
  Partial<Record<VariableOf<F>, string>>;

/** Exactly the variables `name` declares, taken from `values`, which may hold more. */
export function declaredEnvironment<F extends FunctionName>(
  name: F,
  values: DeployedEnvironment<F>,
): Record<string, string> {
  const declared: Record<string, Presence> = functionEnvironments[name];
  const all: Record<string, string> = values;
  return Object.fromEntries(
    Object.keys(declared).map((variable) => {
      const value = all[variable];
      // The type asks for every value already; this guards callers that widened it away.
      if (value === undefined) throw new Error(`${name}: no value for ${variable}`);
      return [variable, value];
    }),
  );
}

/**
 * Deployment configuration, from CDK context (`cdk.json`, or `-c key=value`), validated once.
 * Every setting has a documented default so `cdk synth` works with none given.
 */
import type { Node } from 'constructs';
import { z } from 'zod';
import { defaultRemindAfterDays, defaultTokenSchedule } from '../functions/tokens/token-schedule';
import { isAddressInDomain } from './sender-identity';

const contextBoolean = z.union([
  z.boolean(),
  z.enum(['true', 'false']).transform((v) => v === 'true'),
]);
const positiveInteger = z.coerce.number().int().positive();

/**
 * Whole days, as a list: a JSON array in cdk.json, or from `-c` a string, either `7,1` or
 * `[7,1]` (the CLI passes every value as text). Stored distinct and largest first, as the
 * handlers read them.
 */
const dayList = (min: number, max: number) =>
  z.preprocess(
    (value) => {
      if (typeof value === 'number') return [value];
      if (typeof value !== 'string') return value;
      const text = value.trim();
      if (text.startsWith('[')) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return value;
        }
      }
      return text === '' ? [] : text.split(',').map((day) => day.trim());
    },
    z
      .array(
        z.coerce
          .number()
          .int(`each day must be a whole number from ${min} to ${max}`)
          .min(min, `each day must be a whole number from ${min} to ${max}`)
          .max(max, `each day must be a whole number from ${min} to ${max}`),
        'a list of days, e.g. "7,1" or [7,1]',
      )
      .min(1, 'at least one day')
      .transform((days) => [...new Set(days)].sort((a, b) => b - a)),
  );

export const stackConfigSchema = z.object({
  /** @default 'dev' — part of the stack name, so two stages can live in one account. */
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,20}$/)
    .default('dev'),
  /** @default true — keep the table (and its tokens) when the stack is deleted. */
  retainData: contextBoolean.default(true),
  /** @default 30 — days of Lambda and API access logs. */
  logRetentionDays: positiveInteger.default(30),

  /** The frontend's base URL: links in emails point there, and CORS allows only its origin. */
  appUrl: z.url().default('https://app.example.com'),
  /**
   * @default `notifications@<senderDomain>` with `senderDomain`, else 'notifications@example.com'
   * — the From address: in `senderDomain` (or a subdomain) when that is set, else a verified SES
   * identity in the target account.
   */
  senderAddress: z.email().optional(),
  /**
   * A domain the stack verifies in SES (Easy DKIM, custom MAIL FROM) and outputs the DNS records
   * of, e.g. `mail.example.com`. @default none: the sender is verified in SES by hand
   */
  senderDomain: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
      'a domain name, e.g. mail.example.com',
    )
    .optional(),
  /** @default 'bounce' — with `senderDomain`, the MAIL FROM domain is `<this>.<senderDomain>`. */
  mailFromSubdomain: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'one DNS label, e.g. bounce')
    .default('bounce'),
  /** @default `dmarc-reports@<senderDomain>` — DMARC aggregate reports, in the suggested record. */
  dmarcReportAddress: z.email().optional(),
  /** @default an SES configuration set created by the stack */
  sesConfigurationSetName: z.string().min(1).optional(),
  /** @default 10 — emails per second the notifier may send, at most (your SES quota or less). */
  sesMaxSendRate: positiveInteger.default(10),
  /** @default 'rate(15 minutes)' — an EventBridge Scheduler expression. */
  checkSchedule: z.string().min(1).default('rate(15 minutes)'),
  /** @default 7 — days the check looks back, to catch tokens due while it could not run. */
  checkLookbackDays: positiveInteger.max(60).default(7),

  /** @default true — refresh tokens with Instagram before they expire (the refresh job's schedule). */
  autoRefresh: contextBoolean.default(true),
  /** @default 14 — refresh a token once fewer than this many days remain; 2 to 59. */
  refreshBeforeDays: z.coerce
    .number()
    .int()
    .min(2)
    .max(59)
    .default(defaultTokenSchedule.refreshBeforeDays),
  /** @default [7, 1] — warn this many days before the expiry of a token not refreshed by then. */
  warnBeforeDays: dayList(1, 59).default([...defaultTokenSchedule.warnBeforeDays]),
  /**
   * @default [3, 7, 14, 28] — days after a token was announced lost that its people are
   * reminded while it stays lost; 1 to 365.
   */
  remindAfterDays: dayList(1, 365).default([...defaultRemindAfterDays]),
  /**
   * @default 5 — calls per second to Instagram's refresh endpoint for the whole fleet: 18,000
   * an hour, far more than a fleet's tokens need, while the app's Instagram rate limit (which
   * the widgets' own calls share) stays theirs. The refresher refuses less than about 0.34.
   */
  // Above 200 a second a pacing slot (5 ms) is shorter than the conditional write that claims
  // it, and every claim would come too late: the refresher would call nobody.
  instagramMaxRefreshRate: z.coerce.number().positive().max(200).default(5),
  /** @default 'rate(1 hour)' — an EventBridge Scheduler expression for the refresh job. */
  refreshSchedule: z.string().min(1).default('rate(1 hour)'),

  /**
   * @default 60 — minutes of a recipient's digest window: the first notice goes at once, the
   * others of the window in one digest email at its end; 0 turns digests off (1 to 1440).
   */
  digestWindowMinutes: z.coerce.number().int().min(0).max(1440).default(60),
  /** @default 'rate(5 minutes)' — an EventBridge Scheduler expression for the digest flush. */
  digestSchedule: z.string().min(1).default('rate(5 minutes)'),
  /** @default 20 — at least this many tokens refused or failing to refresh in an hour is a storm. */
  stormMinTokens: positiveInteger.default(20),
  /** @default 0.1 — and at least this share (0 to 1) of the watched tokens. */
  stormShare: z.coerce.number().min(0).max(1).default(0.1),

  /** @default 72 — hours a new reconnect link works (1 to 720: at most 30 days). */
  reconnectLinkHours: z.coerce.number().int().min(1).max(720).default(72),

  /** Where alarms are sent. @default none: alarms only change state. */
  alarmEmail: z.email().optional(),

  /** JWT issuer and audience of the frontend's identity provider. @default a Cognito pool */
  jwtIssuer: z.url().optional(),
  jwtAudience: z.string().min(1).optional(),
  /**
   * With `jwtIssuer`: the audience (`aud`, or `client_id` when a token has no `aud`) of the
   * widget service's client-credentials tokens, which must carry the scope `tokenwatch/service`.
   * @default jwtAudience
   */
  serviceJwtAudience: z.string().min(1).optional(),
  /**
   * The prefix of the Cognito domain the stack makes (its token endpoint), globally unique in a
   * region. @default `tokenwatch-<stage>-<account id>`
   */
  cognitoDomainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .optional(),
  /** @default 50 requests per second, steady, for the whole API */
  apiThrottleRate: positiveInteger.default(50),
  /** @default 100 */
  apiThrottleBurst: positiveInteger.default(100),

  /**
   * Name of a Secrets Manager secret holding `{"appId": "...", "appSecret": "..."}` of the
   * Instagram app. @default a secret created by the stack, to be filled in after deploy
   */
  instagramAppSecretName: z.string().min(1).optional(),
  /**
   * Name of a Secrets Manager secret holding the key that signs unsubscribe links, e.g. the one a
   * deleted stack kept (`retainData`), so the links already sent keep working.
   * @default a secret created by the stack, with a generated key
   */
  unsubscribeKeySecretName: z.string().min(1).optional(),
  instagramGraphUrl: z.url().default('https://graph.instagram.com'),
  instagramApiUrl: z.url().default('https://api.instagram.com'),
  instagramAuthorizeUrl: z.url().default('https://www.instagram.com/oauth/authorize'),
  /** Where Instagram sends the user back after re-authorizing. @default `${appUrl}/instagram-accounts/reconnect` */
  instagramRedirectUri: z.url().optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema> & {
  instagramRedirectUri: string;
  senderAddress: string;
};

export function readStackConfig(node: Node): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(stackConfigSchema.shape)) {
    const value: unknown = node.tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  const result = stackConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(
      `Invalid CDK context: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const { autoRefresh, refreshBeforeDays, warnBeforeDays } = result.data;
  // A warning is for a token the refresh did not renew in time: one due before the refresh is
  // even tried would warn about every token, every time.
  const early = warnBeforeDays.filter((days) => days >= refreshBeforeDays);
  if (autoRefresh && early.length > 0) {
    throw new Error(
      `Invalid CDK context: warnBeforeDays: ${early.join(', ')} is not fewer than refreshBeforeDays (${refreshBeforeDays}); every token would be warned about before its automatic refresh was tried`,
    );
  }
  const { senderDomain } = result.data;
  const senderAddress =
    result.data.senderAddress ?? `notifications@${senderDomain ?? 'example.com'}`;
  // SES sends as a domain identity only from that domain and its subdomains.
  if (senderDomain !== undefined && !isAddressInDomain(senderAddress, senderDomain)) {
    throw new Error(
      `Invalid CDK context: senderAddress: ${senderAddress} is not in senderDomain ${senderDomain} (or a subdomain of it); SES would refuse to send as it`,
    );
  }
  const appUrl = result.data.appUrl.replace(/\/+$/, '');
  return {
    ...result.data,
    senderAddress,
    appUrl,
    instagramRedirectUri:
      result.data.instagramRedirectUri ?? `${appUrl}/instagram-accounts/reconnect`,
  };
}

/**
 * `npm run refile -- --table <name>`: files every active token again, in both schedules (its
 * next warning or expiry for the check, its refresh for the automatic refresh), by the rules the
 * functions use. Needed once after upgrading from a version without automatic refresh (its tokens
 * carry no refresh entry, and would expire unrefreshed), and after changing `refreshBeforeDays`
 * or `warnBeforeDays` (tokens already filed keep the old steps until their next token).
 *
 * It reads the table with a parallel Scan, once, and writes each active token with a condition
 * on its generation: a token replaced meanwhile is left as its writer filed it. Running it again
 * changes nothing that matters: a warning filed again after it was sent is published again, and
 * the notifier's send-once records keep the email from going twice.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, isConditionFailure } from '../functions/platform/dynamodb';
import { readConfig } from '../functions/platform/config';
import { keys } from '../functions/storage/keys';
import { activeTokenFiling, filingUpdate } from '../functions/tokens/filing';
import {
  tokenScheduleEnvironment,
  tokenScheduleFrom,
  type TokenSchedule,
} from '../functions/tokens/token-schedule';

export const usage = `Usage: npm run refile -- --table <name> [--refresh-before-days <n>] [--warn-before-days <list>]

Files every active token again for its warnings, expiry and automatic refresh, by the rules the
deployed functions use. Run it once after upgrading to automatic refresh, and after changing
refreshBeforeDays or warnBeforeDays (give the same values as the stack's context).

  --table <name>                the table
  --refresh-before-days <n>     as the context's refreshBeforeDays (default 14)
  --warn-before-days <list>     as the context's warnBeforeDays, e.g. 7,1 (default 7,1)
  -h, --help                    this text

The endpoint and credentials are the AWS SDK's usual settings (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local).`;

export interface RefileSummary {
  /** account items read */
  accounts: number;
  /** active tokens filed again */
  refiled: number;
  /** active tokens replaced or lost meanwhile, left as their writer filed them */
  changedMeanwhile: number;
}

const segments = 4;

export async function refileTokens(
  db: DynamoDBDocumentClient,
  tableName: string,
  schedule: TokenSchedule,
  now: Date,
): Promise<RefileSummary> {
  const summary: RefileSummary = { accounts: 0, refiled: 0, changedMeanwhile: 0 };
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({
            TableName: tableName,
            Segment: segment,
            TotalSegments: segments,
            FilterExpression: 'sk = :token',
            ProjectionExpression: 'accountId, generation, tokenStatus, expiresAt, tokenIssuedAt',
            ExpressionAttributeValues: { ':token': keys.account('x').sk },
            ExclusiveStartKey,
          }),
        );
        ExclusiveStartKey = page.LastEvaluatedKey;
        for (const item of page.Items ?? []) {
          summary.accounts += 1;
          if (item.tokenStatus !== 'active') continue;
          if (await refile(db, tableName, item, schedule, now)) summary.refiled += 1;
          else summary.changedMeanwhile += 1;
        }
      } while (ExclusiveStartKey);
    }),
  );
  return summary;
}

async function refile(
  db: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  schedule: TokenSchedule,
  now: Date,
): Promise<boolean> {
  const accountId = item.accountId as string;
  const update = filingUpdate(
    activeTokenFiling(
      accountId,
      { expiresAt: item.expiresAt as string, issuedAt: item.tokenIssuedAt as string },
      now,
      schedule,
    ),
  );
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.account(accountId),
        UpdateExpression:
          `SET ${update.set.join(', ')}` +
          (update.remove.length > 0 ? ` REMOVE ${update.remove.join(', ')}` : ''),
        ConditionExpression: 'generation = :generation AND tokenStatus = :active',
        ExpressionAttributeValues: {
          ...update.values,
          ':generation': item.generation,
          ':active': 'active',
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        table: { type: 'string' },
        'refresh-before-days': { type: 'string' },
        'warn-before-days': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.table) {
    console.error(`Name the table: --table <name>\n\n${usage}`);
    return 2;
  }
  let schedule: TokenSchedule;
  try {
    schedule = tokenScheduleFrom(
      readConfig(tokenScheduleEnvironment, {
        REFRESH_BEFORE_DAYS: values['refresh-before-days'],
        WARN_BEFORE_DAYS: values['warn-before-days'],
      }),
    );
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const client = new DynamoDBClient({});
  try {
    const summary = await refileTokens(
      createDocumentClient(client),
      values.table,
      schedule,
      new Date(),
    );
    console.log(
      `Refiled ${summary.refiled} active token(s) of ${summary.accounts} account(s)` +
        (summary.changedMeanwhile > 0
          ? `; ${summary.changedMeanwhile} changed meanwhile and were left as filed`
          : ''),
    );
    return 0;
  } finally {
    client.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(3);
    },
  );
}

/**
 * Least-privilege access for every function: table grants of exactly the actions it calls, on
 * the table and the indexes it reads. TABLE_NAME itself comes with the rest of the function's
 * declared environment (functions/environment/variables.ts).
 */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { TokenwatchFunction } from './tokenwatch-function';

export interface TableActions {
  /** actions on the table itself, e.g. `dynamodb:UpdateItem` */
  readonly table?: readonly string[];
  /** actions per index name, e.g. `{ 'due-tokens': ['dynamodb:Query'] }` */
  readonly indexes?: Readonly<Record<string, readonly string[]>>;
}

export function grantTableActions(
  fn: TokenwatchFunction,
  table: ITableV2,
  actions: TableActions,
): void {
  if (actions.table?.length) {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [...actions.table], resources: [table.tableArn] }),
    );
  }
  for (const [indexName, indexActions] of Object.entries(actions.indexes ?? {})) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: [...indexActions],
        resources: [`${table.tableArn}/index/${indexName}`],
      }),
    );
  }
}

/** The configured log retention as CloudWatch accepts it; a number it does not offer fails synth. */
export function logRetention(days: number): RetentionDays {
  const offered = Object.values(RetentionDays).filter(
    (value): value is RetentionDays => typeof value === 'number',
  );
  const match = offered.find((value) => (value as number) === days);
  if (match === undefined) {
    throw new Error(`logRetentionDays: ${days} is not a CloudWatch Logs retention period`);
  }
  return match;
}

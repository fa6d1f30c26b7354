/** STUB (issue 3 fills this in): the schedule and the check-expired-tokens function. */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { StackConfig } from './config';

export interface ExpiryCheckProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
}

export class ExpiryCheck extends Construct {
  constructor(scope: Construct, id: string, _props: ExpiryCheckProps) {
    super(scope, id);
  }
}

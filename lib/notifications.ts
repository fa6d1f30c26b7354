/** STUB (issue 3 fills this in): rule → queue (+DLQ) → notify-expired-token, SES, alarms. */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StackConfig } from './config';

export interface NotificationsProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** The full URL of `POST /unsubscribe` on the deployed API. */
  readonly unsubscribeUrl: string;
  readonly unsubscribeSigningKey: ISecret;
}

export class Notifications extends Construct {
  constructor(scope: Construct, id: string, _props: NotificationsProps) {
    super(scope, id);
  }
}

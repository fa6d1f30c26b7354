/** STUB (issue 4 fills this in): the HTTP API, its JWT authorizer and one function per route. */
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import type { Secrets } from './secrets';

export interface ApiProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
  readonly secrets: Secrets;
}

export class Api extends Construct {
  /** The API's base URL, ending in `/`. */
  readonly url: string;
  /** The full URL of `POST /unsubscribe`, for the links in emails. */
  readonly unsubscribeUrl: string;

  constructor(scope: Construct, id: string, _props: ApiProps) {
    super(scope, id);
    this.url = 'https://api.invalid/';
    this.unsubscribeUrl = `${this.url}unsubscribe`;
  }
}

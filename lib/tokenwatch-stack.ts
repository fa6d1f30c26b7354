/**
 * The one tokenwatch stack: it composes one construct per concern. No resource carries a
 * hard-coded name, so several stages can be deployed side by side in one account.
 */
import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StackConfig } from './config';
import { Storage } from './storage';

export interface TokenwatchStackProps extends StackProps {
  readonly config: StackConfig;
}

export class TokenwatchStack extends Stack {
  readonly storage: Storage;

  constructor(scope: Construct, id: string, props: TokenwatchStackProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('app', 'tokenwatch');
    Tags.of(this).add('stage', config.stage);

    this.storage = new Storage(this, 'Storage', { retainData: config.retainData });
  }
}

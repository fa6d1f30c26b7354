/**
 * The one tokenwatch stack: it composes one construct per concern. No resource carries a
 * hard-coded name, so several stages can be deployed side by side in one account.
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { Api } from './api';
import type { StackConfig } from './config';
import { Events } from './events';
import { ExpiryCheck } from './expiry-check';
import { Notifications } from './notifications';
import { Secrets } from './secrets';
import { Storage } from './storage';

export interface TokenwatchStackProps extends StackProps {
  readonly config: StackConfig;
}

export class TokenwatchStack extends Stack {
  readonly storage: Storage;
  readonly events: Events;
  readonly secrets: Secrets;
  readonly api: Api;
  readonly expiryCheck: ExpiryCheck;
  readonly notifications: Notifications;

  constructor(scope: Construct, id: string, props: TokenwatchStackProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('app', 'tokenwatch');
    Tags.of(this).add('stage', config.stage);

    this.storage = new Storage(this, 'Storage', { retainData: config.retainData });
    const table = this.storage.table;
    this.events = new Events(this, 'Events');
    const bus = this.events.bus;
    this.secrets = new Secrets(this, 'Secrets', {
      instagramAppSecretName: config.instagramAppSecretName,
    });

    this.api = new Api(this, 'Api', { config, table, bus, secrets: this.secrets });
    this.expiryCheck = new ExpiryCheck(this, 'ExpiryCheck', { config, table, bus });
    this.notifications = new Notifications(this, 'Notifications', {
      config,
      table,
      bus,
      unsubscribeUrl: this.api.unsubscribeUrl,
      unsubscribeSigningKey: this.secrets.unsubscribeSigningKey,
    });

    // Every alarm of the stack goes to the one alarm topic, when an alarm email was configured.
    const alarmTopic = this.notifications.alarmTopic;
    if (alarmTopic) {
      for (const alarm of [this.expiryCheck.failingAlarm, this.expiryCheck.publishingAlarm]) {
        alarm.addAlarmAction(new SnsAction(alarmTopic));
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'InstagramAppSecretArn', { value: this.secrets.instagramApp.secretArn });
  }
}

/**
 * The one tokenwatch stack: it composes one construct per concern, and is the one place that
 * reads the deployment configuration; each construct gets only the settings it uses. No resource
 * carries a hard-coded name, so several stages can be deployed side by side in one account.
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms, type MonitoredResources } from './alarms';
import { Api } from './api';
import type { StackConfig } from './config';
import { Dashboard } from './dashboard';
import { Digests } from './digests';
import { EmailFeedback } from './email-feedback';
import { Events } from './events';
import { ExpiryCheck } from './expiry-check';
import { logRetention } from './function-access';
import { maxReceiveCount, Notifications } from './notifications';
import { Secrets } from './secrets';
import { SenderIdentity } from './sender-identity';
import { Storage } from './storage';
import { TokenRefresh } from './token-refresh';
import { TokenwatchFunction } from './tokenwatch-function';

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
  readonly digests: Digests;
  /** SES's bounces and complaints, recorded so no email goes to such an address again. */
  readonly emailFeedback: EmailFeedback;
  /** Set when `autoRefresh` is on. */
  readonly tokenRefresh?: TokenRefresh;
  readonly alarms: Alarms;
  /** Set when `senderDomain` is. */
  readonly senderIdentity?: SenderIdentity;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: TokenwatchStackProps) {
    super(scope, id, props);
    const { config } = props;
    Tags.of(this).add('app', 'tokenwatch');
    Tags.of(this).add('stage', config.stage);
    const retention = logRetention(config.logRetentionDays);
    const tokenSchedule = {
      refreshBeforeDays: config.refreshBeforeDays,
      warnBeforeDays: config.warnBeforeDays,
    };
    const storm = { minTokens: config.stormMinTokens, share: config.stormShare };
    const instagram = {
      graphUrl: config.instagramGraphUrl,
      apiUrl: config.instagramApiUrl,
      authorizeUrl: config.instagramAuthorizeUrl,
      redirectUri: config.instagramRedirectUri,
    };

    this.storage = new Storage(this, 'Storage', { retainData: config.retainData });
    const table = this.storage.table;
    this.events = new Events(this, 'Events');
    const bus = this.events.bus;
    this.secrets = new Secrets(this, 'Secrets', {
      instagramAppSecretName: config.instagramAppSecretName,
      unsubscribeKeySecretName: config.unsubscribeKeySecretName,
      retainData: config.retainData,
    });

    this.api = new Api(this, 'Api', {
      table,
      bus,
      instagramAppSecret: this.secrets.instagramApp,
      unsubscribeSigningKey: this.secrets.unsubscribeSigningKey,
      appUrl: config.appUrl,
      instagram,
      tokenSchedule,
      reconnectLinkHours: config.reconnectLinkHours,
      storm,
      stage: config.stage,
      jwtIssuer: config.jwtIssuer,
      jwtAudience: config.jwtAudience,
      serviceJwtAudience: config.serviceJwtAudience,
      cognitoDomainPrefix: config.cognitoDomainPrefix,
      throttleRate: config.apiThrottleRate,
      throttleBurst: config.apiThrottleBurst,
      retainData: config.retainData,
      logRetention: retention,
    });
    this.expiryCheck = new ExpiryCheck(this, 'ExpiryCheck', {
      table,
      bus,
      schedule: config.checkSchedule,
      lookbackDays: config.checkLookbackDays,
      tokenSchedule,
      remindAfterDays: config.remindAfterDays,
      logRetention: retention,
    });
    // Off: no job, queue or refresher at all (README, Configuration), not an idle one.
    if (config.autoRefresh) {
      this.tokenRefresh = new TokenRefresh(this, 'TokenRefresh', {
        table,
        bus,
        instagramAppSecret: this.secrets.instagramApp,
        instagram,
        tokenSchedule,
        instagramMaxRefreshRate: config.instagramMaxRefreshRate,
        storm,
        schedule: config.refreshSchedule,
        logRetention: retention,
      });
    }
    this.notifications = new Notifications(this, 'Notifications', {
      table,
      bus,
      unsubscribeUrl: this.api.unsubscribeUrl,
      unsubscribeSigningKey: this.secrets.unsubscribeSigningKey,
      appUrl: config.appUrl,
      senderAddress: config.senderAddress,
      sesConfigurationSetName: config.sesConfigurationSetName,
      sesMaxSendRate: config.sesMaxSendRate,
      logRetention: retention,
      digestWindowMinutes: config.digestWindowMinutes,
    });
    this.emailFeedback = new EmailFeedback(this, 'EmailFeedback', {
      table,
      notifications: this.notifications,
      logRetention: retention,
    });
    this.digests = new Digests(this, 'Digests', {
      table,
      unsubscribeUrl: this.api.unsubscribeUrl,
      unsubscribeSigningKey: this.secrets.unsubscribeSigningKey,
      appUrl: config.appUrl,
      senderAddress: config.senderAddress,
      configurationSetName: this.notifications.configurationSetName,
      sesMaxSendRate: config.sesMaxSendRate,
      sendingProcesses: this.notifications.sendingProcesses,
      windowMinutes: config.digestWindowMinutes,
      schedule: config.digestSchedule,
      logRetention: retention,
    });
    // Last, so that every function made above is watched.
    ({ alarms: this.alarms, dashboard: this.dashboard } = this.watch(config));

    // With senderDomain: the SES identity, and the DNS records to publish as outputs.
    if (config.senderDomain) {
      this.senderIdentity = new SenderIdentity(this, 'SenderIdentity', {
        domain: config.senderDomain,
        senderAddress: config.senderAddress,
        mailFromSubdomain: config.mailFromSubdomain,
        configurationSetName: this.notifications.configurationSetName,
        dmarcReportAddress: config.dmarcReportAddress,
      });
    }

    this.outputs();
  }

  /** Every alarm, and the dashboard, over everything made before. */
  private watch(config: StackConfig): { alarms: Alarms; dashboard: Dashboard } {
    const monitored: MonitoredResources = {
      expiryCheck: { fn: this.expiryCheck.checker, schedule: config.checkSchedule },
      digestFlush: { fn: this.digests.flusher, schedule: config.digestSchedule },
      notificationQueue: this.notifications.queue,
      deadLetterQueue: this.notifications.deadLetterQueue,
      undeliveredEvents: this.notifications.undeliveredEvents,
      emailFeedbackDeadLetterQueue: this.emailFeedback.deadLetterQueue,
      refresh: this.tokenRefresh && {
        job: { fn: this.tokenRefresh.job, schedule: config.refreshSchedule },
        queue: this.tokenRefresh.queue,
        deadLetterQueue: this.tokenRefresh.deadLetterQueue,
      },
      api: this.api.httpApi,
      functions: this.node.findAll().filter((c) => c instanceof TokenwatchFunction),
    };
    const alarms = new Alarms(this, 'Alarms', {
      ...monitored,
      maxReceiveCount,
      alarmEmail: config.alarmEmail,
    });
    const dashboard = new Dashboard(this, 'Dashboard', { ...monitored, alarms: alarms.all });
    return { alarms, dashboard };
  }

  private outputs(): void {
    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'TableName', { value: this.storage.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'InstagramAppSecretArn', { value: this.secrets.instagramApp.secretArn });
    // To point a new stack at the key a deleted one kept (README, "What a cdk destroy keeps").
    new CfnOutput(this, 'UnsubscribeKeySecretName', {
      value: this.secrets.unsubscribeSigningKey.secretName,
    });
    // Each dead-letter queue and the queue it redrives to, for `npm run redrive` (README, Runbook).
    const queues = {
      NotificationQueueUrl: this.notifications.queue,
      NotificationDeadLetterQueueUrl: this.notifications.deadLetterQueue,
      UndeliveredEventsQueueUrl: this.notifications.undeliveredEvents,
      RefreshQueueUrl: this.tokenRefresh?.queue,
      RefreshDeadLetterQueueUrl: this.tokenRefresh?.deadLetterQueue,
    };
    for (const [name, queue] of Object.entries(queues)) {
      if (queue) new CfnOutput(this, name, { value: queue.queueUrl });
    }
  }
}

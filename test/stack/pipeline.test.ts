import { describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { synthesize } from '../support/stack';
import { notifierConcurrency } from '../../lib/notifications';
import { actionsOn, logicalIdOf, statementsOf, type Resources } from './templates';

const checkerId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('publishes an event for every Instagram token'),
  });
const notifierId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('emails owners and opted-in developers'),
  });

describe('the expiry check', () => {
  it('runs on an EventBridge Scheduler schedule, every 15 minutes by default', () => {
    const { template } = synthesize();
    // One schedule per scheduled job: this one, the automatic refresh's and the digest flush's.
    template.resourcePropertiesCountIs(
      'AWS::Scheduler::Schedule',
      { Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [checkerId(template), 'Arn'] } }) },
      1,
    );
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [checkerId(template), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      },
    });
  });

  it('takes its schedule and look-back from the configuration', () => {
    const { template } = synthesize({ checkSchedule: 'rate(5 minutes)', checkLookbackDays: '3' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('publishes an event'),
      Environment: { Variables: Match.objectLike({ CHECK_LOOKBACK_DAYS: '3' }) },
    });
  });

  it('publishes to the tokenwatch bus and reads the table only through the due-token index', () => {
    const { template } = synthesize();
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('publishes an event'),
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUS_NAME: { Ref: busId },
          TABLE_NAME: Match.anyValue(),
        }),
      },
    });
    expect(actionsOn(statementsOf(template, checkerId(template)))).toEqual([
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '"*"' },
      {
        actions: ['dynamodb:UpdateItem'],
        resource: expect.stringMatching(
          /^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/,
        ) as unknown,
      },
      {
        actions: ['dynamodb:Query'],
        resource: expect.stringContaining('/index/due-tokens') as unknown,
      },
      { actions: ['events:PutEvents'], resource: JSON.stringify({ 'Fn::GetAtt': [busId, 'Arn'] }) },
    ]);
  });

  it('has the scheduler invoke the check function and nothing else', () => {
    const { template } = synthesize();
    const checker = checkerId(template);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: [
              { 'Fn::GetAtt': [checker, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [checker, 'Arn'] }, ':*']] },
            ],
          },
        ],
      },
    });
  });

  it('raises an alarm when the check keeps failing', () => {
    const { template } = synthesize();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: checkerId(template) } }],
      Threshold: 1,
      EvaluationPeriods: 2,
    });
  });
});

describe('the promise of one email per token', () => {
  it('raises an alarm the first time anyone gets the same email twice', () => {
    const { template } = synthesize();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Tokenwatch',
      MetricName: 'ExpiredTokenEmailsSentTwice',
      Dimensions: [{ Name: 'service', Value: 'tokenwatch' }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('the check that runs but cannot publish', () => {
  it('raises its own alarm on the events the bus refused and the marks that failed', () => {
    const { template } = synthesize();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: {
        Metrics?: { MetricStat?: { Metric: { MetricName: string; Namespace: string } } }[];
      };
    }[];
    const publishing = alarms.find((alarm) =>
      alarm.Properties.Metrics?.some(
        (m) => m.MetricStat?.Metric.MetricName === 'ExpiredEventsFailed',
      ),
    );
    expect(publishing).toBeDefined();
    const names = publishing?.Properties.Metrics?.flatMap((m) =>
      m.MetricStat ? [`${m.MetricStat.Metric.Namespace}/${m.MetricStat.Metric.MetricName}`] : [],
    );
    expect(names?.sort()).toEqual([
      'Tokenwatch/ExpiredEventsFailed',
      'Tokenwatch/TokenMarksFailed',
    ]);
  });
});

describe('the notification queue', () => {
  it('gets every Instagram Token Expired and Expiring event from the bus through a rule with its own retries and DLQ', () => {
    const { template } = synthesize();
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: {
        source: ['tokenwatch'],
        'detail-type': [
          'Instagram Token Expired',
          'Instagram Token Expiring',
          'Instagram Token Reminder',
        ],
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsQueue'), 'Arn'] },
          DeadLetterConfig: {
            Arn: {
              'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsUndeliveredEvents'), 'Arn'],
            },
          },
          RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
  });

  it('gets every Instagram Token Refreshed event stored through a reconnect link (by link:…) through a rule of its own, to the same queue with the same retries and DLQ', () => {
    const { template } = synthesize();
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: {
        source: ['tokenwatch'],
        'detail-type': ['Instagram Token Refreshed'],
        detail: { by: [{ prefix: 'link:' }] },
      },
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsQueue'), 'Arn'] },
          DeadLetterConfig: {
            Arn: {
              'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsUndeliveredEvents'), 'Arn'],
            },
          },
          RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
    // Only these two rules reach the notification queue: a refresh by a user or `auto` does not.
    const toQueue = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule).includes('NotificationsQueue'),
    );
    expect(toQueue).toHaveLength(2);
  });

  it('is encrypted, TLS-only, and hands a message to its DLQ after 5 receives', () => {
    const { template } = synthesize();
    // Every queue of the stack: these three, the refresh queue and its dead-letter queue, and
    // the email feedback queue and its dead-letter queue (test/stack/email-feedback.test.ts).
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    expect(Object.keys(queues)).toHaveLength(7);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      },
      7,
    );
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsDeadLetterQueue'), 'Arn'],
        },
        maxReceiveCount: 5,
      },
    });
  });

  it('keeps a message invisible for at least six times the notifier timeout', () => {
    const { template } = synthesize();
    const notifier = template.findResources('AWS::Lambda::Function')[notifierId(template)] as {
      Properties: { Timeout: number; Environment: { Variables: Record<string, string> } };
    };
    const [queue] = Object.values(
      template.findResources('AWS::SQS::Queue', {
        Properties: {
          RedrivePolicy: {
            deadLetterTargetArn: {
              'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsDeadLetterQueue'), 'Arn'],
            },
            maxReceiveCount: Match.anyValue(),
          },
        },
      }),
    ) as { Properties: { VisibilityTimeout: number } }[];
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * notifier.Properties.Timeout,
    );
    // The claim lease outlives any invocation but not the visibility timeout: after a crash the
    // first redelivery can take over, while a live sender is never overtaken.
    const lease = Number(notifier.Properties.Environment.Variables.NOTIFICATION_LEASE_SECONDS);
    expect(lease).toBeGreaterThan(notifier.Properties.Timeout);
    expect(lease).toBeLessThan(queue?.Properties.VisibilityTimeout ?? 0);
  });

  it('alarms when either dead-letter queue holds a message, and emails the alarm when asked', () => {
    const quiet = synthesize().template;
    for (const dlq of ['NotificationsDeadLetterQueue', 'NotificationsUndeliveredEvents']) {
      quiet.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(dlq), 'QueueName'] },
          },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    quiet.resourceCountIs('AWS::SNS::Topic', 0);

    const loud = synthesize({ alarmEmail: 'ops@example.com' }).template;
    loud.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    const topicId = Object.keys(loud.findResources('AWS::SNS::Topic'))[0];
    loud.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible', AlarmActions: [{ Ref: topicId }] },
      // these two, the refresh dead-letter queue's and the email feedback's
      4,
    );
  });
});

describe('the notifier', () => {
  it('reads the queue ten at a time with partial batch responses, within the SES rate', () => {
    const { template } = synthesize();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: notifierId(template) },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // NOTIFY_MAX_CONCURRENCY is how many processes share the SES rate, not the notifier's own
    // concurrency: the two notifiers and the digest flush (lib/digests.ts), one more sender of
    // the same rate. Each takes a third of it, so together they never exceed it.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Environment: {
        Variables: Match.objectLike({ SES_MAX_SEND_RATE: '10', NOTIFY_MAX_CONCURRENCY: '3' }),
      },
    });
  });

  it('scales its concurrency with the SES rate so each process sends at most 5 emails a second', () => {
    for (const rate of [1, 10, 11, 50, 14_000]) {
      const concurrency = notifierConcurrency(rate);
      expect(concurrency).toBeGreaterThanOrEqual(2);
      expect(concurrency).toBeLessThanOrEqual(1000);
      if (concurrency < 1000) expect(rate / concurrency).toBeLessThanOrEqual(5);
    }
    const { template } = synthesize({ sesMaxSendRate: '50' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    // Ten notifiers and the digest flush share the rate.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Environment: {
        Variables: Match.objectLike({ SES_MAX_SEND_RATE: '50', NOTIFY_MAX_CONCURRENCY: '11' }),
      },
    });
  });

  it('sends through its own SES configuration set, or the one configured', () => {
    const own = synthesize().template;
    own.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    const setId = Object.keys(own.findResources('AWS::SES::ConfigurationSet'))[0];
    own.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Environment: { Variables: Match.objectLike({ SES_CONFIGURATION_SET: { Ref: setId } }) },
    });

    const given = synthesize({ sesConfigurationSetName: 'shared-set' }).template;
    given.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    given.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Environment: { Variables: Match.objectLike({ SES_CONFIGURATION_SET: 'shared-set' }) },
    });
  });

  it('has exactly the permissions it uses: its table items, the signing key, SES from the sender, its queue', () => {
    const { template } = synthesize({ senderAddress: 'alerts@mail.example.org' });
    const statements = actionsOn(statementsOf(template, notifierId(template)));
    expect(statements.map((statement) => statement.actions)).toEqual([
      ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
      ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      ['ses:SendEmail'],
      ['events:PutEvents'],
      [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ],
    ]);
    const [xray, table, secret, ses] = statements;
    expect(xray?.resource).toBe('"*"');
    expect(table?.resource).toMatch(/^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/);
    expect(secret?.resource).toMatch(/^\{"Ref":"SecretsUnsubscribeSigningKey[0-9A-F]+"\}$/);
    // Any identity (the SES sandbox checks the recipient's too), only from the sender (below).
    expect(ses?.resource).toContain(':identity/*"');
    expect(ses?.resource).toContain(':configuration-set/');
    expect(ses?.resource).not.toContain('"*"');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ses:SendEmail',
            Condition: { StringEquals: { 'ses:FromAddress': 'alerts@mail.example.org' } },
          }),
        ]),
      },
    });
  });

  it('may hand an event it could only partly send back to the tokenwatch bus, and that bus only', () => {
    const { template } = synthesize();
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Environment: { Variables: Match.objectLike({ EVENT_BUS_NAME: { Ref: busId } }) },
    });
    expect(
      actionsOn(statementsOf(template, notifierId(template))).filter((statement) =>
        statement.actions.some((action) => String(action).startsWith('events:')),
      ),
    ).toEqual([
      { actions: ['events:PutEvents'], resource: JSON.stringify({ 'Fn::GetAtt': [busId, 'Arn'] }) },
    ]);
  });

  it('knows where to send people: the app, the unsubscribe route and the signing key', () => {
    const { template } = synthesize({ appUrl: 'https://widgets.example.com/' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emails owners'),
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          APP_URL: 'https://widgets.example.com',
          UNSUBSCRIBE_URL: Match.anyValue(),
          UNSUBSCRIBE_KEY_SECRET_ID: {
            Ref: Match.stringLikeRegexp('SecretsUnsubscribeSigningKey'),
          },
          SENDER_ADDRESS: 'notifications@example.com',
          TABLE_NAME: Match.anyValue(),
        }),
      },
    });
  });

  it('writes a notice down for the digest within the window of its recipient: 60 minutes, or as configured', () => {
    const variablesOfNotifier = (template: Template) =>
      (
        template.findResources('AWS::Lambda::Function')[notifierId(template)] as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }
      ).Properties.Environment.Variables;
    expect(variablesOfNotifier(synthesize().template).DIGEST_WINDOW_MINUTES).toBe('60');
    const off = synthesize({ digestWindowMinutes: '0' }).template;
    expect(variablesOfNotifier(off).DIGEST_WINDOW_MINUTES).toBe('0');
  });
});

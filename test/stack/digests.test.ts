import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { readStackConfig } from '../../lib/config';
import { notifierConcurrency } from '../../lib/notifications';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import { actionsOn, logicalIdOf, statementsOf, type Resources } from './templates';

const flusherId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('sends the digests of ended windows'),
  });
const notifierId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('emails owners and opted-in developers'),
  });
const flushSchedule = 'tokenwatch: sends the digests whose window ended';

function variablesOf(template: Template, functionId: string): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[functionId] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return fn.Properties.Environment.Variables;
}

describe('the digest flush', () => {
  const { stack, template } = synthesize();

  it('runs on an EventBridge Scheduler schedule of its own, every 5 minutes by default', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: flushSchedule,
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [flusherId(template), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DigestsSchedulerRole'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      },
    });
    template.resourcePropertiesCountIs(
      'AWS::Scheduler::Schedule',
      { Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [flusherId(template), 'Arn'] } }) },
      1,
    );
  });

  it('has the scheduler invoke the flush and nothing else, with a role of its own', () => {
    const flusher = flusherId(template);
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Principal: { Service: 'scheduler.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ],
        },
      },
    });
    const schedulerRoles = Object.keys(roles).filter((id) => id.startsWith('Digests'));
    expect(schedulerRoles).toHaveLength(1);
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: schedulerRoles[0] }] },
      }) as Resources,
    );
    expect(policies.map((policy) => policy.Properties.PolicyDocument)).toEqual([
      {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: [
              { 'Fn::GetAtt': [flusher, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [flusher, 'Arn'] }, ':*']] },
            ],
          },
        ],
      },
    ]);
    // No other scheduler role may invoke the flush.
    const invokers = Object.values(template.findResources('AWS::IAM::Policy') as Resources).filter(
      (policy) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes('lambda:InvokeFunction') &&
        JSON.stringify(policy.Properties.PolicyDocument).includes(`"${flusher}"`),
    );
    expect(invokers).toHaveLength(1);
  });

  it('gives the flush two minutes and no Lambda retries: the next run finds the same notices', () => {
    const fn = template.findResources('AWS::Lambda::Function')[flusherId(template)] as {
      Properties: { Timeout: number };
    };
    expect(fn.Properties.Timeout).toBe(120);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: flusherId(template) },
      MaximumRetryAttempts: 0,
    });
  });

  it('sends as the notifier does, with one share of the same SES rate, and a lease longer than a run', () => {
    const setId = Object.keys(template.findResources('AWS::SES::ConfigurationSet'))[0];
    expect(variablesOf(template, flusherId(template))).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: { Ref: expect.stringMatching(/^StorageTable/) as unknown },
      SENDER_ADDRESS: 'notifications@example.com',
      APP_URL: variablesOf(template, notifierId(template)).APP_URL,
      UNSUBSCRIBE_URL: variablesOf(template, notifierId(template)).UNSUBSCRIBE_URL,
      UNSUBSCRIBE_KEY_SECRET_ID: {
        Ref: expect.stringMatching(/^SecretsUnsubscribeSigningKey/) as unknown,
      },
      SES_CONFIGURATION_SET: { Ref: setId },
      SES_MAX_SEND_RATE: '10',
      // The two notifiers and this one: each paces itself to a third of the rate.
      NOTIFY_MAX_CONCURRENCY: String(notifierConcurrency(10) + 1),
      NOTIFICATION_LEASE_SECONDS: '240',
      DIGEST_WINDOW_MINUTES: '60',
      DIGEST_LOOKBACK_DAYS: '7',
    });
    const notifier = variablesOf(template, notifierId(template));
    // Both count the same senders, so together they stay within the rate.
    expect(notifier.NOTIFY_MAX_CONCURRENCY).toBe('3');
    expect(notifier.DIGEST_WINDOW_MINUTES).toBe('60');
    // A digest being sent is never taken over by the next run.
    const lease = Number(variablesOf(template, flusherId(template)).NOTIFICATION_LEASE_SECONDS);
    expect(lease).toBeGreaterThan(120);
  });

  it('has exactly the permissions it uses: its table items, the waiting notices, the signing key, SES from the sender', () => {
    const statements = actionsOn(statementsOf(template, flusherId(template)));
    expect(statements.map((statement) => statement.actions)).toEqual([
      ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      // Never PutItem or Scan: a waiting notice is claimed and settled in place; DeleteItem only
      // gives a recipient's flush lease back.
      [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ],
      ['dynamodb:Query'],
      ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      ['ses:SendEmail'],
    ]);
    const [xray, table, index, secret, ses] = statements;
    expect(xray?.resource).toBe('"*"');
    expect(table?.resource).toMatch(/^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/);
    expect(index?.resource).toMatch(
      /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\},"\/index\/due-tokens"\]\]\}$/,
    );
    expect(secret?.resource).toMatch(/^\{"Ref":"SecretsUnsubscribeSigningKey[0-9A-F]+"\}$/);
    // The very identities and configuration set the notifier may send through, no wider.
    const notifierSes = actionsOn(statementsOf(template, notifierId(template))).find((statement) =>
      statement.actions.includes('ses:SendEmail'),
    );
    expect(ses?.resource).toBe(notifierSes?.resource);
    expect(ses?.resource).not.toContain('"*"');
  });

  it('sends only from the configured sender', () => {
    const { template: configured } = synthesize({ senderAddress: 'alerts@mail.example.org' });
    const ses = actionsOn(statementsOf(configured, flusherId(configured))).find((statement) =>
      statement.actions.includes('ses:SendEmail'),
    );
    // Any identity (the SES sandbox checks the recipient's too), only from the sender (below).
    expect(ses?.resource).toContain(':identity/*"');
    expect(ses?.resource).toContain(':configuration-set/');
    const flusherRole = (
      configured.findResources('AWS::Lambda::Function')[flusherId(configured)] as {
        Properties: { Role: { 'Fn::GetAtt': [string, string] } };
      }
    ).Properties.Role['Fn::GetAtt'][0];
    configured.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: flusherRole }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ses:SendEmail',
            Condition: { StringEquals: { 'ses:FromAddress': 'alerts@mail.example.org' } },
          }),
        ]),
      },
    });
    expect(variablesOf(configured, flusherId(configured)).SENDER_ADDRESS).toBe(
      'alerts@mail.example.org',
    );
  });

  it('is part of the stack, with nothing left unacknowledged by the AwsSolutions checks', () => {
    expect(stack.digests.flusher).toBeDefined();
    expect(unacknowledgedNagFindings(stack.digests)).toEqual([]);
  });
});

describe('the digest flush, configured', () => {
  it('takes the window and the schedule from the context, for the notifier and the flush alike', () => {
    const { template } = synthesize({
      digestWindowMinutes: '15',
      digestSchedule: 'rate(1 minute)',
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: flushSchedule,
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [flusherId(template), 'Arn'] } }),
    });
    expect(variablesOf(template, flusherId(template)).DIGEST_WINDOW_MINUTES).toBe('15');
    expect(variablesOf(template, notifierId(template)).DIGEST_WINDOW_MINUTES).toBe('15');
  });

  it('still runs with digests off: it sends what a released storm held', () => {
    const { template } = synthesize({ digestWindowMinutes: '0' });
    expect(variablesOf(template, flusherId(template)).DIGEST_WINDOW_MINUTES).toBe('0');
    expect(variablesOf(template, notifierId(template)).DIGEST_WINDOW_MINUTES).toBe('0');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: flushSchedule,
      ScheduleExpression: 'rate(5 minutes)',
    });
  });

  it('still runs with the automatic refresh off', () => {
    const { template } = synthesize({ autoRefresh: 'false' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: flushSchedule,
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [flusherId(template), 'Arn'] } }),
    });
  });

  it('shares the SES rate with however many notifiers it has', () => {
    const { template } = synthesize({ sesMaxSendRate: '50' });
    const shares = String(notifierConcurrency(50) + 1);
    expect(shares).toBe('11');
    expect(variablesOf(template, flusherId(template))).toMatchObject({
      SES_MAX_SEND_RATE: '50',
      NOTIFY_MAX_CONCURRENCY: shares,
    });
    expect(variablesOf(template, notifierId(template)).NOTIFY_MAX_CONCURRENCY).toBe(shares);
  });

  it('has these defaults with no context at all', () => {
    expect(readStackConfig(new App().node)).toMatchObject({
      digestWindowMinutes: 60,
      digestSchedule: 'rate(5 minutes)',
    });
  });

  it('refuses settings it cannot deploy, with their name', () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ digestWindowMinutes: '-1' }, /digestWindowMinutes/],
      [{ digestWindowMinutes: '1441' }, /digestWindowMinutes/],
      [{ digestWindowMinutes: '7.5' }, /digestWindowMinutes/],
      [{ digestWindowMinutes: 'an hour' }, /digestWindowMinutes/],
      [{ digestSchedule: '' }, /digestSchedule/],
    ];
    for (const [context, message] of refused) {
      expect(() => readStackConfig(new App({ context }).node), JSON.stringify(context)).toThrow(
        message,
      );
      expect(() => synthesize(context), JSON.stringify(context)).toThrow(message);
    }
    expect(() => synthesize({ digestSchedule: 'every 5 minutes' })).toThrow(
      /digestSchedule: every 5 minutes is not a rate\(\), cron\(\) or at\(\) expression/,
    );
    expect(() => synthesize({ digestWindowMinutes: '0' })).not.toThrow();
    expect(() => synthesize({ digestWindowMinutes: '1440' })).not.toThrow();
  });
});

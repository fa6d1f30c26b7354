import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { functionEnvironments } from '../../functions/environment/variables';
import { readStackConfig } from '../../lib/config';
import {
  refresherConcurrency,
  refreshIntervalMinutes,
  refresherTimeout,
} from '../../lib/token-refresh';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import { actionsOn, logicalIdOf, statementsOf, type Resources } from './templates';

const jobId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('queues every Instagram token due'),
  });
const refresherId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('refreshes Instagram tokens before they expire'),
  });
const refreshQueue = Match.stringLikeRegexp('^TokenRefreshQueue');
const refreshDeadLetterQueue = Match.stringLikeRegexp('^TokenRefreshDeadLetterQueue');

function variablesOf(template: Template, functionId: string): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[functionId] as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  };
  return fn.Properties.Environment.Variables;
}

/** The functions whose handlers read the token schedule, with their variables. */
function tokenScheduleVariablesOf(template: Template) {
  return (
    Object.entries(template.findResources('AWS::Lambda::Function')) as [
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } },
    ][]
  )
    .map(([id, fn]) => ({ id, variables: fn.Properties.Environment.Variables }))
    .filter(
      ({ variables }) => 'REFRESH_BEFORE_DAYS' in variables || 'WARN_BEFORE_DAYS' in variables,
    );
}

/** The functions whose handlers count trouble for the storm guard, with their variables. */
function stormVariablesOf(template: Template) {
  return (
    Object.entries(template.findResources('AWS::Lambda::Function')) as [
      string,
      { Properties: { Environment: { Variables: Record<string, unknown> } } },
    ][]
  )
    .map(([id, fn]) => ({ id, variables: fn.Properties.Environment.Variables }))
    .filter(({ variables }) => 'STORM_MIN_TOKENS' in variables || 'STORM_SHARE' in variables);
}

const entriesCountingTrouble = Object.entries(functionEnvironments)
  .filter(([, variables]) => 'STORM_MIN_TOKENS' in variables)
  .map(([entry]) => entry)
  .sort();

const entriesReadingTheTokenSchedule = Object.entries(functionEnvironments)
  .filter(([, variables]) => 'REFRESH_BEFORE_DAYS' in variables)
  .map(([entry]) => entry)
  .sort();

describe('the automatic refresh', () => {
  const { stack, template } = synthesize();

  it('runs the refresh job on its own EventBridge Scheduler schedule, every hour by default', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [jobId(template), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TokenRefreshSchedulerRole'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      },
    });
  });

  it('has the scheduler invoke the refresh job and nothing else, with a role of its own', () => {
    const job = jobId(template);
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
    // The check's, the digest flush's and this one's: none may invoke another's function.
    expect(Object.keys(roles)).toHaveLength(3);
    const schedulerRole = Object.keys(roles).find((id) => id.startsWith('TokenRefresh'));
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: schedulerRole }] },
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
              { 'Fn::GetAtt': [job, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [job, 'Arn'] }, ':*']] },
            ],
          },
        ],
      },
    ]);
  });

  it('gives the job five minutes, no Lambda retries, and what it needs to size a run', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('queues every Instagram token due'),
      Timeout: 300,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: jobId(template) },
      MaximumRetryAttempts: 0,
    });
    expect(variablesOf(template, jobId(template))).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: { Ref: expect.stringMatching(/^StorageTable/) as unknown },
      REFRESH_QUEUE_URL: { Ref: expect.stringMatching(/^TokenRefreshQueue/) as unknown },
      REFRESH_LOOKBACK_DAYS: '7',
      INSTAGRAM_MAX_REFRESH_RATE: '5',
      REFRESH_INTERVAL_MINUTES: '60',
    });
  });

  it('lets the job read only the refresh index and the storm state, and send only to the refresh queue', () => {
    const queueId = Object.keys(
      template.findResources('AWS::SQS::Queue', {
        Properties: {
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [refreshDeadLetterQueue, 'Arn'] } },
        },
      }),
    )[0];
    expect(actionsOn(statementsOf(template, jobId(template)))).toEqual([
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '"*"' },
      // GetItem: whether a storm pauses the run (one item); never a write, never a Query of it.
      {
        actions: ['dynamodb:GetItem'],
        resource: expect.stringMatching(
          /^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/,
        ) as unknown,
      },
      {
        actions: ['dynamodb:Query'],
        resource: expect.stringMatching(
          /^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\},"\/index\/refresh-due"\]\]\}$/,
        ) as unknown,
      },
      {
        actions: ['sqs:SendMessage'],
        resource: JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }),
      },
    ]);
  });

  it('queues on an encrypted, TLS-only queue that hands a request to its DLQ after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * refresherTimeout.toSeconds(),
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [refreshDeadLetterQueue, 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    const deadLetterQueues = template.findResources('AWS::SQS::Queue', {
      Properties: { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true },
    });
    expect(
      Object.keys(deadLetterQueues).filter((id) => id.startsWith('TokenRefresh')),
    ).toHaveLength(1);
    for (const queue of [refreshQueue, refreshDeadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      });
    }
  });

  it('keeps a request invisible for six times the refresher timeout of 60 s', () => {
    const refresher = template.findResources('AWS::Lambda::Function')[refresherId(template)] as {
      Properties: { Timeout: number; MemorySize: number };
    };
    expect(refresher.Properties.Timeout).toBe(60);
    // As much memory as the refresh route, whose token flow it runs.
    const route = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('/token/refresh:') },
      }) as Resources,
    )[0];
    expect(refresher.Properties.MemorySize).toBe(route?.Properties.MemorySize);
  });

  it('reads the queue five at a time with partial batch responses, as many at once as calls a second', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: refresherId(template) },
      EventSourceArn: { 'Fn::GetAtt': [refreshQueue, 'Arn'] },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('lets the refresher do exactly the token flow: the table items, the app secret, the bus, its queue', () => {
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
    const statements = actionsOn(statementsOf(template, refresherId(template)));
    expect(statements.map((statement) => statement.actions)).toEqual([
      ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      // PutItem for the pacing slots, DescribeTable for the storm guard's estimate of the
      // fleet's size: never on an index, never a Query, Scan or DeleteItem.
      ['dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      ['events:PutEvents'],
      [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ],
    ]);
    const [, table, secret, bus, queue] = statements;
    expect(table?.resource).toMatch(/^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/);
    expect(secret?.resource).toMatch(/^\{"Ref":"SecretsInstagramApp[0-9A-F]+"\}$/);
    expect(bus?.resource).toBe(JSON.stringify({ 'Fn::GetAtt': [busId, 'Arn'] }));
    expect(queue?.resource).toMatch(/^\{"Fn::GetAtt":\["TokenRefreshQueue[0-9A-F]+","Arn"\]\}$/);
  });

  it('gives the refresher the token flow, the fleet pace, the token schedule and the storm guard', () => {
    expect(variablesOf(template, refresherId(template))).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: { Ref: expect.stringMatching(/^StorageTable/) as unknown },
      EVENT_BUS_NAME: { Ref: expect.stringMatching(/^EventsBus/) as unknown },
      INSTAGRAM_APP_SECRET_ID: { Ref: expect.stringMatching(/^SecretsInstagramApp/) as unknown },
      INSTAGRAM_GRAPH_URL: 'https://graph.instagram.com',
      INSTAGRAM_API_URL: 'https://api.instagram.com',
      INSTAGRAM_AUTHORIZE_URL: 'https://www.instagram.com/oauth/authorize',
      INSTAGRAM_REDIRECT_URI: 'https://app.example.com/instagram-accounts/reconnect',
      INSTAGRAM_MAX_REFRESH_RATE: '5',
      REFRESH_BEFORE_DAYS: '14',
      WARN_BEFORE_DAYS: '7,1',
      STORM_MIN_TOKENS: '20',
      STORM_SHARE: '0.1',
    });
  });

  it('tells every function that counts trouble the same storm guard: 20 tokens and 10 % an hour', () => {
    const found = stormVariablesOf(template);
    // the refresher, and Meta's deauthorize callback
    expect(found).toHaveLength(entriesCountingTrouble.length);
    for (const { id, variables } of found) {
      expect(variables, id).toMatchObject({ STORM_MIN_TOKENS: '20', STORM_SHARE: '0.1' });
    }
  });

  it('tells every function that files tokens the same schedule: refresh 14 days before, warn 7 and 1', () => {
    const found = tokenScheduleVariablesOf(template);
    // the check, the refresher, and the routes that store a token
    expect(found).toHaveLength(entriesReadingTheTokenSchedule.length);
    for (const { id, variables } of found) {
      expect(variables, id).toMatchObject({ REFRESH_BEFORE_DAYS: '14', WARN_BEFORE_DAYS: '7,1' });
    }
  });

  it('alarms when the refresh dead-letter queue holds a request', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [refreshDeadLetterQueue, 'QueueName'] } },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    const [alarm] = Object.keys(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmDescription: Match.stringLikeRegexp('refresh dead-letter queue') },
      }),
    );
    const owner = stack.node
      .findChild('Alarms')
      .node.tryFindChild('RefreshDeadLetterQueueNotEmpty');
    expect(owner).toBeDefined();
    expect(alarm).toMatch(/^AlarmsRefreshDeadLetterQueueNotEmpty/);
  });

  it('indexes tokens by when they are due for refresh, never projecting the access token', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')) as {
      Properties: { GlobalSecondaryIndexes: Record<string, unknown>[] };
    }[];
    expect(
      table?.Properties.GlobalSecondaryIndexes.find((index) => index.IndexName === 'refresh-due'),
    ).toEqual({
      IndexName: 'refresh-due',
      KeySchema: [
        { AttributeName: 'refreshBucket', KeyType: 'HASH' },
        { AttributeName: 'refreshAt', KeyType: 'RANGE' },
      ],
      Projection: {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: ['accountId', 'generation', 'expiresAt'],
      },
    });
  });
});

describe('the automatic refresh, configured', () => {
  it('takes the schedule, the rate and the token schedule from the context', () => {
    const { template } = synthesize({
      refreshSchedule: 'rate(30 minutes)',
      instagramMaxRefreshRate: '12.5',
      refreshBeforeDays: '21',
      warnBeforeDays: '3,10',
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 minutes)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [jobId(template), 'Arn'] } }),
    });
    expect(variablesOf(template, jobId(template))).toMatchObject({
      INSTAGRAM_MAX_REFRESH_RATE: '12.5',
      REFRESH_INTERVAL_MINUTES: '30',
    });
    expect(variablesOf(template, refresherId(template))).toMatchObject({
      INSTAGRAM_MAX_REFRESH_RATE: '12.5',
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: refresherId(template) },
      ScalingConfig: { MaximumConcurrency: 13 },
    });
    const found = tokenScheduleVariablesOf(template);
    expect(found).toHaveLength(entriesReadingTheTokenSchedule.length);
    for (const { id, variables } of found) {
      expect(variables, id).toMatchObject({ REFRESH_BEFORE_DAYS: '21', WARN_BEFORE_DAYS: '10,3' });
    }
  });

  it('takes the storm guard from the context, for every function that counts trouble', () => {
    const { template } = synthesize({ stormMinTokens: '50', stormShare: '0.25' });
    const found = stormVariablesOf(template);
    expect(found).toHaveLength(entriesCountingTrouble.length);
    for (const { id, variables } of found) {
      expect(variables, id).toMatchObject({ STORM_MIN_TOKENS: '50', STORM_SHARE: '0.25' });
    }
    expect(variablesOf(template, refresherId(template))).toMatchObject({
      STORM_MIN_TOKENS: '50',
      STORM_SHARE: '0.25',
    });
  });

  it('reads the warning days as "7,1", as a JSON array from -c, or as an array in cdk.json', () => {
    for (const warnBeforeDays of ['7,1', ' 1, 7 ', '[7, 1]', [7, 1], [1, 7, 7], '7,1,1']) {
      const app = new App({ context: { warnBeforeDays } });
      expect(readStackConfig(app.node).warnBeforeDays, JSON.stringify(warnBeforeDays)).toEqual([
        7, 1,
      ]);
    }
    expect(
      readStackConfig(new App({ context: { warnBeforeDays: 3 } }).node).warnBeforeDays,
    ).toEqual([3]);
  });

  it('has these defaults with no context at all', () => {
    const config = readStackConfig(new App().node);
    expect(config).toMatchObject({
      autoRefresh: true,
      refreshBeforeDays: 14,
      warnBeforeDays: [7, 1],
      instagramMaxRefreshRate: 5,
      refreshSchedule: 'rate(1 hour)',
      stormMinTokens: 20,
      stormShare: 0.1,
    });
  });

  it('derives the run interval from a rate() schedule, and assumes an hour for any other', () => {
    expect(refreshIntervalMinutes('rate(1 minute)')).toBe(1);
    expect(refreshIntervalMinutes('rate(45 minutes)')).toBe(45);
    expect(refreshIntervalMinutes('rate(1 hour)')).toBe(60);
    expect(refreshIntervalMinutes('rate(6 hours)')).toBe(360);
    expect(refreshIntervalMinutes('rate(1 day)')).toBe(1440);
    expect(refreshIntervalMinutes('cron(0 * * * ? *)')).toBe(60);
    expect(refreshIntervalMinutes('at(2030-01-01T00:00:00)')).toBe(60);
  });

  it('runs about one refresher per call a second, between 2 and 50', () => {
    expect(refresherConcurrency(0.5)).toBe(2);
    expect(refresherConcurrency(2)).toBe(2);
    expect(refresherConcurrency(5)).toBe(5);
    expect(refresherConcurrency(5.1)).toBe(6);
    expect(refresherConcurrency(50)).toBe(50);
    expect(refresherConcurrency(1000)).toBe(50);
  });

  it('has no schedule, job, queue, refresher or refresh alarm when autoRefresh is off', () => {
    const { stack, template } = synthesize({ autoRefresh: 'false' });
    const schedules = Object.values(
      template.findResources('AWS::Scheduler::Schedule') as Resources,
    );
    // The check's and the digest flush's: the flush sends digests whatever refreshes tokens.
    expect(schedules.map((schedule) => schedule.Properties.Description).sort()).toEqual([
      'tokenwatch: runs the expired-token check',
      'tokenwatch: sends the digests whose window ended',
    ]);
    expect(
      Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) =>
        id.startsWith('TokenRefresh'),
      ),
    ).toEqual([]);
    // The notifications' three and the email feedback's two; the notifier's and the feedback's.
    template.resourceCountIs('AWS::SQS::Queue', 5);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    // The storm's stays (Meta's deauthorize callback still counts trouble, so a storm can still
    // be declared and hold the emails); none of the refresh's four is made.
    expect(stack.alarms.storm).toBeDefined();
    for (const alarm of [
      stack.alarms.refreshDeadLetterQueueNotEmpty,
      stack.alarms.refreshJobNotRunning,
      stack.alarms.refreshQueueAge,
      stack.alarms.refreshFailureRatio,
    ]) {
      expect(alarm).toBeUndefined();
    }
    expect(
      Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((id) =>
        /^Alarms(Refresh|FunctionsTokenRefresh)/.test(id),
      ),
    ).toEqual([]);
    expect(stack.tokenRefresh).toBeUndefined();
    // The routes and the check still file tokens for refresh, for when it is switched back on.
    const found = tokenScheduleVariablesOf(template);
    expect(found).toHaveLength(entriesReadingTheTokenSchedule.length - 1);
    for (const { variables } of found) {
      expect(variables).toMatchObject({ REFRESH_BEFORE_DAYS: '14', WARN_BEFORE_DAYS: '7,1' });
    }
    // Meta's deauthorize callback still counts trouble: a storm still holds the emails.
    expect(stormVariablesOf(template)).toHaveLength(entriesCountingTrouble.length - 1);
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });

  it('refuses settings it cannot deploy, with their name', () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ autoRefresh: 'yes' }, /autoRefresh/],
      [{ refreshBeforeDays: '1' }, /refreshBeforeDays/],
      [{ refreshBeforeDays: '60' }, /refreshBeforeDays/],
      [{ refreshBeforeDays: '14.5' }, /refreshBeforeDays/],
      [{ refreshBeforeDays: 'two weeks' }, /refreshBeforeDays/],
      [{ warnBeforeDays: '0' }, /warnBeforeDays\.0: each day must be a whole number from 1 to 59/],
      [{ warnBeforeDays: '60' }, /warnBeforeDays/],
      [{ warnBeforeDays: '7,x' }, /warnBeforeDays/],
      [{ warnBeforeDays: '7.5' }, /warnBeforeDays/],
      [{ warnBeforeDays: '' }, /warnBeforeDays: at least one day/],
      [{ warnBeforeDays: '[]' }, /warnBeforeDays: at least one day/],
      [{ warnBeforeDays: '[7,' }, /warnBeforeDays/],
      [{ warnBeforeDays: { days: 7 } }, /warnBeforeDays/],
      [{ instagramMaxRefreshRate: '0' }, /instagramMaxRefreshRate/],
      [{ instagramMaxRefreshRate: '-5' }, /instagramMaxRefreshRate/],
      [{ instagramMaxRefreshRate: 'fast' }, /instagramMaxRefreshRate/],
      [{ instagramMaxRefreshRate: '500' }, /instagramMaxRefreshRate/],
      [{ refreshSchedule: '' }, /refreshSchedule/],
      [{ stormMinTokens: '0' }, /stormMinTokens/],
      [{ stormMinTokens: '2.5' }, /stormMinTokens/],
      [{ stormMinTokens: 'many' }, /stormMinTokens/],
      [{ stormShare: '-0.1' }, /stormShare/],
      [{ stormShare: '1.5' }, /stormShare/],
      [{ stormShare: 'a tenth' }, /stormShare/],
    ];
    for (const [context, message] of refused) {
      expect(() => readStackConfig(new App({ context }).node), JSON.stringify(context)).toThrow(
        message,
      );
    }
    expect(() => synthesize({ refreshSchedule: 'every hour' })).toThrow(
      /refreshSchedule: every hour is not a rate\(\), cron\(\) or at\(\) expression/,
    );
  });

  it('refuses a warning that would come before the refresh is even tried, unless the refresh is off', () => {
    expect(() => synthesize({ refreshBeforeDays: '14', warnBeforeDays: '14,1' })).toThrow(
      /warnBeforeDays: 14 is not fewer than refreshBeforeDays \(14\)/,
    );
    expect(() => synthesize({ refreshBeforeDays: '5', warnBeforeDays: '7,1' })).toThrow(
      /warnBeforeDays: 7 is not fewer than refreshBeforeDays/,
    );
    const off = readStackConfig(
      new App({ context: { autoRefresh: false, refreshBeforeDays: 5, warnBeforeDays: '7,1' } })
        .node,
    );
    expect(off.warnBeforeDays).toEqual([7, 1]);
  });

  it('refuses a rate so slow that a refresher batch would outwait its timeout', () => {
    expect(() => synthesize({ instagramMaxRefreshRate: '0.1' })).toThrow(
      /instagramMaxRefreshRate: 0\.1 is too slow for the refresher.*give at least 0\.34/,
    );
    expect(() => synthesize({ instagramMaxRefreshRate: '0.34' })).not.toThrow();
  });
});

describe('the reminders, configured', () => {
  const checkVariables = (template: Template) =>
    (
      Object.values(template.findResources('AWS::Lambda::Function')) as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }[]
    )
      .map((fn) => fn.Properties.Environment.Variables)
      .filter((variables) => 'REMIND_AFTER_DAYS' in variables);

  it('gives the check the reminder days, 3, 7, 14 and 28 unless the context says otherwise', () => {
    const found = checkVariables(synthesize().template);
    expect(found).toHaveLength(1);
    expect(found[0]?.REMIND_AFTER_DAYS).toMatch(/^(3,7,14,28|28,14,7,3)$/);
    const custom = checkVariables(synthesize({ remindAfterDays: '[2, 30]' }).template);
    expect(custom[0]?.REMIND_AFTER_DAYS).toMatch(/^(2,30|30,2)$/);
  });

  it.each([['0'], ['366'], ['soon'], ['[3,']])('refuses remindAfterDays=%s', (value) => {
    expect(() => readStackConfig(new App({ context: { remindAfterDays: value } }).node)).toThrow(
      /remindAfterDays/,
    );
  });
});

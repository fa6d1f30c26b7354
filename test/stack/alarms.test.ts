import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { Alarms } from '../../lib/alarms';
import { queueOutputs } from '../../scripts/redrive';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import type { Resources } from './templates';

const loud = synthesize({ alarmEmail: 'ops@example.com' });
const alarmResources = loud.template.findResources('AWS::CloudWatch::Alarm') as Resources;
const topicRef = { Ref: Object.keys(loud.template.findResources('AWS::SNS::Topic'))[0] };

interface MetricStat {
  Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string }[] };
  Period: number;
  Stat: string;
}
interface AlarmProperties {
  Namespace?: string;
  MetricName?: string;
  Period?: number;
  Statistic?: string;
  Metrics?: { Id: string; Expression?: string; MetricStat?: MetricStat; ReturnData?: boolean }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  TreatMissingData: string;
  AlarmActions?: unknown[];
  AlarmDescription: unknown;
}

/** An alarm as its template reads: what it watches, and how it judges. */
function judged(alarm: Alarm) {
  const id = loud.stack.resolve((alarm.node.defaultChild as CfnElement).logicalId) as string;
  const p = alarmResources[id]?.Properties as unknown as AlarmProperties;
  const watched = p.Metrics
    ? {
        expression: p.Metrics.find((metric) => metric.ReturnData !== false)?.Expression,
        metrics: p.Metrics.filter((metric) => metric.MetricStat)
          .map(({ MetricStat: stat }) => `${stat?.Metric.Namespace} ${stat?.Metric.MetricName}`)
          .sort(),
        period: p.Metrics.find((metric) => metric.MetricStat)?.MetricStat?.Period,
      }
    : { metrics: [`${p.Namespace} ${p.MetricName}`], period: p.Period, statistic: p.Statistic };
  return {
    ...watched,
    threshold: p.Threshold,
    comparison: p.ComparisonOperator,
    evaluationPeriods: p.EvaluationPeriods,
    missingData: p.TreatMissingData,
    actions: p.AlarmActions,
  };
}

const atLeast = 'GreaterThanOrEqualToThreshold';
const tw = (name: string) => `Tokenwatch ${name}`;
const hour = 3600;
const fiveMinutes = 300;

/** The alarms construct's members that are one alarm. */
type AlarmName = {
  [K in keyof Alarms]-?: Alarms[K] extends Alarm | undefined ? K : never;
}[keyof Alarms];

/** Every alarm but the per-function ones: what it watches, its threshold, and how it judges. */
const expectations: [AlarmName, Omit<ReturnType<typeof judged>, 'actions'>][] = [
  [
    'checkFailing',
    {
      metrics: ['AWS/Lambda Errors'],
      period: hour,
      statistic: 'Sum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 2,
      missingData: 'notBreaching',
    },
  ],
  [
    'checkCannotPublish',
    {
      expression: 'FILL(refused, 0) + FILL(markFailed, 0)',
      metrics: [tw('ExpiredEventsFailed'), tw('TokenMarksFailed')],
      period: hour,
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 2,
      missingData: 'notBreaching',
    },
  ],
  [
    'checkNotRunning',
    {
      metrics: ['AWS/Lambda Invocations'],
      period: 15 * 60,
      statistic: 'Sum',
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 2,
      missingData: 'breaching',
    },
  ],
  [
    'deadLetterQueueNotEmpty',
    {
      metrics: ['AWS/SQS ApproximateNumberOfMessagesVisible'],
      period: 60,
      statistic: 'Maximum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'undeliveredEventsNotEmpty',
    {
      metrics: ['AWS/SQS ApproximateNumberOfMessagesVisible'],
      period: 60,
      statistic: 'Maximum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'notificationQueueAge',
    {
      metrics: ['AWS/SQS ApproximateAgeOfOldestMessage'],
      period: fiveMinutes,
      statistic: 'Maximum',
      threshold: hour,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'emailsSentTwice',
    {
      metrics: [tw('ExpiredTokenEmailsSentTwice')],
      period: fiveMinutes,
      statistic: 'Sum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'storm',
    {
      expression: 'FILL(declared, 0) + FILL(reported, 0)',
      metrics: [tw('StormReports'), tw('StormsDeclared')],
      period: fiveMinutes,
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'digestFlushFailing',
    {
      metrics: ['AWS/Lambda Errors'],
      period: fiveMinutes,
      statistic: 'Sum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 3,
      missingData: 'notBreaching',
    },
  ],
  [
    'digestFlushNotRunning',
    {
      metrics: ['AWS/Lambda Invocations'],
      period: fiveMinutes,
      statistic: 'Sum',
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 2,
      missingData: 'breaching',
    },
  ],
  [
    'refreshDeadLetterQueueNotEmpty',
    {
      metrics: ['AWS/SQS ApproximateNumberOfMessagesVisible'],
      period: 60,
      statistic: 'Maximum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'emailFeedbackDeadLetters',
    {
      metrics: ['AWS/SQS ApproximateNumberOfMessagesVisible'],
      period: 60,
      statistic: 'Maximum',
      threshold: 1,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'refreshJobNotRunning',
    {
      metrics: ['AWS/Lambda Invocations'],
      period: hour,
      statistic: 'Sum',
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 2,
      missingData: 'breaching',
    },
  ],
  [
    'refreshQueueAge',
    {
      metrics: ['AWS/SQS ApproximateAgeOfOldestMessage'],
      period: fiveMinutes,
      statistic: 'Maximum',
      threshold: 2 * hour,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'refreshFailureRatio',
    {
      expression: 'IF(calls >= 10, 100 * failed / calls, 0)',
      metrics: [
        tw('RefreshesGivenUp'),
        tw('RefreshesRetriedLater'),
        tw('TokensRefreshed'),
        tw('TokensRejectedOnRefresh'),
      ],
      period: hour,
      threshold: 20,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'apiServerErrors',
    {
      expression: 'IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / FILL(requests, 1), 0)',
      metrics: ['AWS/ApiGateway 5xx', 'AWS/ApiGateway Count'],
      period: fiveMinutes,
      threshold: 5,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'sesBounceRate',
    {
      metrics: ['AWS/SES Reputation.BounceRate'],
      period: hour,
      statistic: 'Maximum',
      threshold: 0.05,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
  [
    'sesComplaintRate',
    {
      metrics: ['AWS/SES Reputation.ComplaintRate'],
      period: hour,
      statistic: 'Maximum',
      threshold: 0.001,
      comparison: atLeast,
      evaluationPeriods: 1,
      missingData: 'notBreaching',
    },
  ],
];

describe('the alarms', () => {
  it.each(expectations)(
    '%s watches what it should, judges as it should, and emails',
    (name, expected) => {
      const alarm = loud.stack.alarms[name];
      expect(alarm, name).toBeDefined();
      expect(judged(alarm as Alarm)).toEqual({ ...expected, actions: [topicRef] });
    },
  );

  it('watches the errors and throttles of every function, each in its own alarm, but the check’s and the flush’s', () => {
    // The check's and the flush's failures have their own alarms, and a throttled run of theirs
    // is a run that did not happen (their not-running alarms).
    const { checker } = loud.stack.expiryCheck;
    const { flusher } = loud.stack.digests;
    const functionIds = Object.keys(loud.template.findResources('AWS::Lambda::Function'));
    const unwatched = [checker, flusher].map(
      (fn) => loud.stack.resolve((fn.node.defaultChild as CfnElement).logicalId) as string,
    );
    const watched = new Map(
      [...loud.stack.alarms.functionFailing].map(([fn, alarm]) => [
        loud.stack.resolve((fn.node.defaultChild as CfnElement).logicalId) as string,
        alarm,
      ]),
    );
    expect([...watched.keys()].sort()).toEqual(
      functionIds.filter((id) => !unwatched.includes(id)).sort(),
    );
    for (const [functionId, alarm] of watched) {
      expect(judged(alarm), functionId).toEqual({
        expression: 'FILL(errors, 0) + FILL(throttles, 0)',
        metrics: ['AWS/Lambda Errors', 'AWS/Lambda Throttles'],
        period: fiveMinutes,
        threshold: 1,
        comparison: atLeast,
        evaluationPeriods: 1,
        missingData: 'notBreaching',
        actions: [topicRef],
      });
      const id = loud.stack.resolve((alarm.node.defaultChild as CfnElement).logicalId) as string;
      expect(JSON.stringify(alarmResources[id]?.Properties.Metrics)).toContain(
        JSON.stringify({ Name: 'FunctionName', Value: { Ref: functionId } }),
      );
    }
  });

  it('lists every alarm of the template in `all`, each with the topic as its one action', () => {
    expect(loud.stack.alarms.all).toHaveLength(Object.keys(alarmResources).length);
    for (const [id, alarm] of Object.entries(alarmResources)) {
      expect(alarm.Properties.AlarmActions, id).toEqual([topicRef]);
    }
  });

  it('has no actions and no topic without an alarm email', () => {
    const { template } = synthesize();
    template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect((alarm as { Properties: AlarmProperties }).Properties.AlarmActions).toBeUndefined();
    }
  });

  it('reads the not-running alarms’ periods from the schedules, and says so when it cannot', () => {
    const { stack, template } = synthesize({
      checkSchedule: 'rate(30 minutes)',
      digestSchedule: 'cron(0/5 * * * ? *)',
      refreshSchedule: 'rate(1 day)',
    });
    const propertiesOf = (alarm: Alarm | undefined) => {
      const id = stack.resolve((alarm?.node.defaultChild as CfnElement).logicalId) as string;
      return (template.findResources('AWS::CloudWatch::Alarm') as Resources)[id]
        ?.Properties as unknown as AlarmProperties;
    };
    expect(propertiesOf(stack.alarms.checkNotRunning).Period).toBe(30 * 60);
    expect(propertiesOf(stack.alarms.refreshJobNotRunning).Period).toBe(24 * hour);
    // The refresh queue's oldest request may be two of the job's intervals old.
    expect(propertiesOf(stack.alarms.refreshQueueAge).Threshold).toBe(2 * 24 * hour);
    // A cron() has no one interval: no alarm rather than a wrong one, and a warning at synth.
    expect(stack.alarms.digestFlushNotRunning).toBeUndefined();
    Annotations.fromStack(stack).hasWarning(
      '/TokenwatchTest/Alarms',
      Match.stringLikeRegexp('DigestFlushNotRunning: cron.* is not a rate\\(\\)'),
    );
  });
});

interface Statement {
  Sid?: string;
  Effect: string;
  Principal: unknown;
  Action: unknown;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

describe('the alarm topic', () => {
  const topicId = Object.keys(loud.template.findResources('AWS::SNS::Topic'))[0] as string;
  const [policy] = Object.values(loud.template.findResources('AWS::SNS::TopicPolicy') as Resources);
  const statements = (policy?.Properties.PolicyDocument as { Statement: Statement[] }).Statement;

  it('lets CloudWatch publish the alarms of this account and region, and nothing else', () => {
    // A topic policy replaces SNS's default one: without this Allow, the TLS-only Deny is all
    // there is, and CloudWatch's every publish is refused.
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Sid: 'AllowCloudWatchAlarmsOfThisAccount',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudwatch:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':alarm:*',
                ],
              ],
            },
          },
        },
      },
    ]);
  });

  it('still refuses any publish without TLS, CloudWatch’s included', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe('the stack with an alarm email', () => {
  it('passes the AwsSolutions checks with nothing left unacknowledged', () => {
    expect(unacknowledgedNagFindings(loud.stack)).toEqual([]);
  });
});

describe('the dashboard', () => {
  const [dashboard] = Object.values(
    loud.template.findResources('AWS::CloudWatch::Dashboard') as Resources,
  );
  const body = dashboard?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  /** The body as text, each reference (a region, an alarm's ARN, a log group) as `<ref>`. */
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : '<ref>'))
    .join('');
  const graphed = new Set(
    [...text.matchAll(/\["([\w/]+)","([^"]+)"/g)].map(
      ([, namespace, name]) => `${namespace} ${name}`,
    ),
  );

  it('shows due, published, sent, held, refreshed, failed, bounces, and the API’s latency and errors', () => {
    for (const metric of [
      'Tokenwatch DueTokens',
      'Tokenwatch ExpiredEventsPublished',
      'Tokenwatch ExpiredTokenEmailsSent',
      'Tokenwatch DigestEmailsSent',
      'Tokenwatch NoticesHeldByStorm',
      'Tokenwatch TokensRefreshed',
      'Tokenwatch ExpiredTokenEmailsFailed',
      'Tokenwatch DigestEmailsFailed',
      'Tokenwatch RefreshesGivenUp',
      'AWS/SES Bounce',
      'AWS/SES Complaint',
      'AWS/SES Reputation.BounceRate',
      'AWS/ApiGateway Latency',
      'AWS/ApiGateway 5xx',
      'AWS/ApiGateway 4xx',
      'AWS/SQS ApproximateAgeOfOldestMessage',
      'AWS/Lambda Errors',
      'AWS/Lambda Throttles',
    ]) {
      expect(graphed, metric).toContain(metric);
    }
  });

  it('graphs only metrics the functions emit, by the names they emit them under', () => {
    const sources = readdirSync(new URL('../../functions/', import.meta.url), { recursive: true })
      .filter((file) => String(file).endsWith('.ts'))
      .map((file) =>
        readFileSync(new URL(`../../functions/${String(file)}`, import.meta.url), 'utf8'),
      )
      .join('\n');
    const ours = [...graphed].filter((metric) => metric.startsWith('Tokenwatch '));
    expect(ours.length).toBeGreaterThan(10);
    for (const metric of ours) expect(sources, metric).toContain(`'${metric.slice(11)}'`);
  });

  it('carries no tags, which older CloudFormation linters (and regions) refuse on a dashboard', () => {
    expect(dashboard?.Properties).not.toHaveProperty('Tags');
  });

  it('shows the state of every alarm, and the error lines of every function’s log', () => {
    const alarmArns = body['Fn::Join'][1].filter(
      (part) =>
        typeof part === 'object' &&
        JSON.stringify(part).includes('"Arn"') &&
        Object.hasOwn(alarmResources, (part as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? ''),
    );
    expect(alarmArns).toHaveLength(loud.stack.alarms.all.length);
    const sources = text.match(/SOURCE '<ref>'/g) ?? [];
    expect(sources).toHaveLength(
      Object.keys(loud.template.findResources('AWS::Lambda::Function')).length,
    );
  });
});

describe('the outputs `npm run redrive` reads', () => {
  it('name each dead-letter queue and the queue it goes back to, the refresh’s only with the refresh', () => {
    const outputs = loud.template.findOutputs('*');
    const queueIds = (queue: { node: { defaultChild?: unknown } }) => ({
      Ref: loud.stack.resolve((queue.node.defaultChild as CfnElement).logicalId) as string,
    });
    const { notifications, tokenRefresh } = loud.stack;
    expect(outputs[queueOutputs.notifications.from]?.Value).toEqual(
      queueIds(notifications.deadLetterQueue),
    );
    expect(outputs[queueOutputs.notifications.to]?.Value).toEqual(queueIds(notifications.queue));
    expect(outputs[queueOutputs.undelivered.from]?.Value).toEqual(
      queueIds(notifications.undeliveredEvents),
    );
    if (!tokenRefresh) throw new Error('the automatic refresh is on by default');
    expect(outputs[queueOutputs.refresh.from]?.Value).toEqual(
      queueIds(tokenRefresh.deadLetterQueue),
    );
    expect(outputs[queueOutputs.refresh.to]?.Value).toEqual(queueIds(tokenRefresh.queue));
    const quiet = synthesize({ autoRefresh: 'false' }).template.findOutputs('*');
    expect(Object.keys(quiet)).not.toContain(queueOutputs.refresh.from);
    expect(Object.keys(quiet)).toContain(queueOutputs.notifications.from);
  });
});

describe('the runbook', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const runbook = readme.slice(
    readme.indexOf('\n## Runbook\n'),
    readme.indexOf('\n## The HTTP API\n'),
  );
  const entries = [...runbook.matchAll(/^### (.+)$/gm)].map(([, heading]) => heading);

  it('has the entry each alarm’s description names', () => {
    expect(entries.length).toBeGreaterThan(10);
    for (const [id, alarm] of Object.entries(alarmResources)) {
      const description = JSON.stringify(alarm.Properties.AlarmDescription);
      const named = /See README, Runbook: ([^.]+)\./.exec(description)?.[1];
      expect(named, id).toBeDefined();
      expect(entries, id).toContain(named);
    }
  });

  it('says in each entry what it means, how to look and what to do', () => {
    const bodies = runbook.split(/^### .+$/m).slice(1);
    for (const [i, body] of bodies.entries()) {
      expect(body, entries[i]).toMatch(/\*\*What it means\.\*\*/);
      expect(body, entries[i]).toMatch(/\*\*How to look\.\*\*/);
      expect(body, entries[i]).toMatch(/\*\*What to do[.,]/);
    }
  });
});

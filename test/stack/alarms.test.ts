import { describe, expect, it } from 'vitest';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import type { Resources } from './templates';

const loud = synthesize({ alarmEmail: 'ops@example.com' });

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

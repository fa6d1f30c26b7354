import { describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import { actionsOn, logicalIdOf, statementsOf } from './templates';

const recorderId = (template: Template) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('records the addresses SES reports'),
  });
const idOf = (template: Template, type: string, path: RegExp) => {
  const found = Object.keys(template.findResources(type)).filter((id) => path.test(id));
  expect(found).toHaveLength(1);
  return found[0] as string;
};
const configurationSetId = (template: Template) =>
  idOf(template, 'AWS::SES::ConfigurationSet', /^NotificationsConfigurationSet/);
const feedbackQueueId = (template: Template) =>
  idOf(template, 'AWS::SQS::Queue', /^EmailFeedbackQueue/);
const feedbackDeadLetterQueueId = (template: Template) =>
  idOf(template, 'AWS::SQS::Queue', /^EmailFeedbackDeadLetterQueue/);
const undeliveredEventsId = (template: Template) =>
  idOf(template, 'AWS::SQS::Queue', /^NotificationsUndeliveredEvents/);

describe('SES feedback', () => {
  it('has the configuration set publish bounces, complaints, rejects and delays to the default bus, with suppression on', () => {
    const { template } = synthesize();
    const configurationSet = configurationSetId(template);
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
    template.resourceCountIs('AWS::SES::ConfigurationSetEventDestination', 1);
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: configurationSet },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint', 'reject', 'deliveryDelay'],
        EventBridgeDestination: {
          EventBusArn: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':events:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':event-bus/default',
              ],
            ],
          },
        },
      },
    });
  });

  it("sends this configuration set's bounces and complaints from the default bus to the feedback queue", () => {
    const { template } = synthesize();
    const rules = template.findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { source: ['aws.ses'] } },
    }) as Record<string, { Properties: Record<string, unknown> }>;
    expect(Object.keys(rules)).toHaveLength(1);
    const [rule] = Object.values(rules);
    // No EventBusName: the rule is on the account's default bus, the only one SES publishes to.
    expect(rule?.Properties.EventBusName).toBeUndefined();
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.ses'],
      'detail-type': ['Email Bounced', 'Email Complaint Received'],
      detail: {
        mail: { tags: { 'ses:configuration-set': [{ Ref: configurationSetId(template) }] } },
      },
    });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [feedbackQueueId(template), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [undeliveredEventsId(template), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86_400 },
      }),
    ]);
  });

  it("takes the operator's own configuration set's events, and leaves that set's destinations to them", () => {
    const { template } = synthesize({ sesConfigurationSetName: 'operators-set' });
    template.resourceCountIs('AWS::SES::ConfigurationSet', 0);
    template.resourceCountIs('AWS::SES::ConfigurationSetEventDestination', 0);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: { mail: { tags: { 'ses:configuration-set': ['operators-set'] } } },
      }),
    });
    expect(unacknowledgedNagFindings(synthesize({ sesConfigurationSetName: 'x' }).stack)).toEqual(
      [],
    );
  });

  it('feeds record-email-feedback from an encrypted queue, with partial batch responses and a dead-letter queue after 5 receives', () => {
    const { template } = synthesize();
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [feedbackDeadLetterQueueId(template), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [feedbackQueueId(template), 'Arn'] },
      FunctionName: { Ref: recorderId(template) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('lets record-email-feedback write the table and consume its queue, and nothing else', () => {
    const { template } = synthesize();
    const statements = actionsOn(statementsOf(template, recorderId(template)));
    expect(statements).toEqual([
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resource: '"*"' },
      {
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resource: expect.stringMatching(
          /^\{"Fn::GetAtt":\["StorageTable[0-9A-F]+","Arn"\]\}$/,
        ) as unknown,
      },
      {
        actions: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        resource: JSON.stringify({ 'Fn::GetAtt': [feedbackQueueId(template), 'Arn'] }),
      },
    ]);
  });

  it('passes the AwsSolutions checks with nothing left unacknowledged', () => {
    expect(unacknowledgedNagFindings(synthesize().stack)).toEqual([]);
  });
});

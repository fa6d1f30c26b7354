/**
 * The one topic every alarm goes to, with the email subscription, keeping the logical ids the
 * topic, its policy and its subscription had before the alarms construct owned them.
 */
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { keepLogicalId } from './legacy-logical-ids';

export function createAlarmTopic(scope: Construct, alarmEmail: string): Topic {
  if (!/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    throw new Error(`alarmEmail: ${alarmEmail} is not an email address`);
  }
  const topic = new Topic(scope, 'Topic', { displayName: 'tokenwatch alarms', enforceSSL: true });
  keepLogicalId(topic, ['Notifications', 'AlarmTopic', 'Resource']);
  Validations.of(topic).acknowledge({
    id: 'AwsSolutions-SNS2',
    reason:
      'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and the topic carries only alarm names and states, no customer data.',
  });
  // enforceSSL makes CDK write the topic's policy, and a topic policy replaces SNS's default
  // one, which let the account (CloudWatch included) publish. With only the TLS Deny left,
  // CloudWatch, a service principal with no identity policy to fall back on, is refused
  // every publish ("no resource-based policy allows the SNS:Publish action"): allowed here,
  // for the alarms of this account and region only.
  const { account, region } = Stack.of(scope);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsOfThisAccount',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: {
          'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${region}:${account}:alarm:*`,
        },
      },
    }),
  );
  const subscription = topic.addSubscription(new EmailSubscription(alarmEmail));
  keepLogicalId(subscription, ['Notifications', 'AlarmTopic', alarmEmail, 'Resource']);
  const policy = topic.node.tryFindChild('Policy');
  if (policy) keepLogicalId(policy, ['Notifications', 'AlarmTopic', 'Policy', 'Resource']);
  return topic;
}

/**
 * Who tokenwatch sends as: the one permission to send as the sender address (`grantSendAs`),
 * shared by every function that sends.
 */
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { TokenwatchFunction } from './tokenwatch-function';

/** The domain part of an email address, lower-cased; undefined for anything else. */
export function domainOf(address: string): string | undefined {
  return /^[^@\s]+@([^@\s]+)$/.exec(address)?.[1]?.toLowerCase();
}

/**
 * Lets a function send email as `senderAddress` through `configurationSetName`, and nothing
 * else: `ses:SendEmail` on the account's identities, only with that From address.
 *
 * Why every identity and not just the sender's: SES authorizes a send against each identity the
 * request touches. Out of the sandbox that is the From identity; in the sandbox SES also checks
 * the recipient's verified identity (`identity/<recipient>` or its domain), so a policy naming
 * only the sender's identities is refused for every send ("not authorized to perform
 * ses:SendEmail on resource …:identity/<recipient>"). The recipients are not known at deploy
 * time, hence `identity/*`; the `ses:FromAddress` condition still holds every send to the one
 * sender address, whichever identity is checked, and the sandbox itself still refuses any
 * recipient that is not verified.
 */
export function grantSendAs(
  fn: TokenwatchFunction,
  senderAddress: string,
  configurationSetName: string,
): void {
  const { region, account } = Stack.of(fn);
  const ses = `arn:${Aws.PARTITION}:ses:${region}:${account}`;
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [`${ses}:identity/*`, `${ses}:configuration-set/${configurationSetName}`],
      conditions: { StringEquals: { 'ses:FromAddress': senderAddress } },
    }),
  );
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]',
    reason:
      'In the SES sandbox a send is also authorized against the (verified) recipient identity, which is not known at deploy time; the ses:FromAddress condition limits every send to the one sender address.',
  });
}

import { describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { synthesize } from '../support/stack';
import { logicalIdOf, statementsOf } from './templates';

const functionId = (template: Template, description: string) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp(description),
  });

describe('the permission to send', () => {
  const sesStatements = (template: Template, id: string) =>
    statementsOf(template, id).filter((statement) =>
      [statement.Action].flat().some((action) => String(action).startsWith('ses:')),
    );

  it('lets the notifier and the digest flush send through any identity, only from the sender and through the configuration set', () => {
    // In the SES sandbox, SES also authorizes the send against the verified recipient's
    // identity: a policy naming only the sender's identity refuses every send there.
    const { template } = synthesize({ senderAddress: 'alerts@mail.example.com' });
    const setId = Object.keys(template.findResources('AWS::SES::ConfigurationSet'))[0];
    const arn = (resource: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ses:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          resource,
        ],
      ],
    });
    for (const description of [
      'emails owners and opted-in developers',
      'sends the digests of ended windows',
    ]) {
      const statements = sesStatements(template, functionId(template, description));
      expect(statements).toHaveLength(1);
      expect(statements[0]).toEqual({
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Resource: expect.arrayContaining([
          arn(':identity/*'),
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':ses:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':configuration-set/',
                { Ref: setId },
              ],
            ],
          },
        ]) as unknown,
        Condition: { StringEquals: { 'ses:FromAddress': 'alerts@mail.example.com' } },
      });
      expect(statements[0]?.Resource).toHaveLength(2);
    }
  });

  it('gives no other function any SES permission', () => {
    const { template } = synthesize();
    const senders = [
      functionId(template, 'emails owners and opted-in developers'),
      functionId(template, 'sends the digests of ended windows'),
    ];
    for (const id of Object.keys(template.findResources('AWS::Lambda::Function'))) {
      if (!senders.includes(id)) expect(sesStatements(template, id), id).toEqual([]);
    }
  });
});

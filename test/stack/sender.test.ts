import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { readStackConfig } from '../../lib/config';
import { TokenwatchStack } from '../../lib/tokenwatch-stack';
import { synthesize, unacknowledgedNagFindings } from '../support/stack';
import { logicalIdOf, statementsOf } from './templates';

const senderDomain = 'mail.example.com';
const recordOutputs = [
  'SenderDkimRecord1',
  'SenderDkimRecord2',
  'SenderDkimRecord3',
  'SenderMailFromMxRecord',
  'SenderMailFromSpfRecord',
  'SenderDmarcRecord',
];

const outputValue = (template: Template, id: string): unknown =>
  (template.findOutputs(id)[id] as { Value: unknown } | undefined)?.Value;

const functionId = (template: Template, description: string) =>
  logicalIdOf(template, 'AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp(description),
  });

const variablesOf = (template: Template, id: string) =>
  (
    template.findResources('AWS::Lambda::Function')[id] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }
  ).Properties.Environment.Variables;

describe('the sender identity, with senderDomain', () => {
  const { stack, template } = synthesize({ senderDomain });
  const identityId = Object.keys(template.findResources('AWS::SES::EmailIdentity'))[0] as string;
  const setId = Object.keys(template.findResources('AWS::SES::ConfigurationSet'))[0];

  it('verifies the domain with Easy DKIM and a bounce. MAIL FROM subdomain, tracked by the configuration set', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'mail.example.com',
      DkimAttributes: { SigningEnabled: true },
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      MailFromAttributes: {
        MailFromDomain: 'bounce.mail.example.com',
        // Until the MX record is published, mail goes out with SES's MAIL FROM, not refused.
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: setId } },
    });
  });

  it('outputs the three DKIM CNAME records from the identity itself', () => {
    for (const n of [1, 2, 3]) {
      expect(outputValue(template, `SenderDkimRecord${n}`)).toEqual({
        'Fn::Join': [
          '',
          [
            { 'Fn::GetAtt': [identityId, `DkimDNSTokenName${n}`] },
            ' CNAME ',
            { 'Fn::GetAtt': [identityId, `DkimDNSTokenValue${n}`] },
          ],
        ],
      });
    }
  });

  it("outputs the MAIL FROM MX record for the stack's region, its SPF record and a DMARC record to start with", () => {
    expect(outputValue(template, 'SenderMailFromMxRecord')).toEqual({
      'Fn::Join': [
        '',
        ['bounce.mail.example.com MX 10 feedback-smtp.', { Ref: 'AWS::Region' }, '.amazonses.com'],
      ],
    });
    expect(outputValue(template, 'SenderMailFromSpfRecord')).toBe(
      'bounce.mail.example.com TXT "v=spf1 include:amazonses.com ~all"',
    );
    expect(outputValue(template, 'SenderDmarcRecord')).toBe(
      '_dmarc.mail.example.com TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@mail.example.com"',
    );
    for (const id of recordOutputs) {
      expect((template.findOutputs(id)[id] as { Description?: string }).Description).toMatch(
        /publish|DMARC/,
      );
    }
  });

  it('sends as notifications@<senderDomain> when no senderAddress is given', () => {
    const notifier = functionId(template, 'emails owners and opted-in developers');
    const flusher = functionId(template, 'sends the digests of ended windows');
    expect(variablesOf(template, notifier).SENDER_ADDRESS).toBe('notifications@mail.example.com');
    expect(variablesOf(template, flusher).SENDER_ADDRESS).toBe('notifications@mail.example.com');
  });

  it('passes the AwsSolutions checks with nothing left unacknowledged', () => {
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });
});

describe('the sender identity, configured', () => {
  it('takes the MAIL FROM subdomain, the DMARC report address and a given configuration set', () => {
    const { template } = synthesize({
      senderDomain: 'Mail.Example.com',
      senderAddress: 'alerts@eu.mail.example.com',
      mailFromSubdomain: 'mx-feedback',
      dmarcReportAddress: 'dmarc@example.com',
      sesConfigurationSetName: 'shared-set',
    });
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'mail.example.com',
      MailFromAttributes: Match.objectLike({ MailFromDomain: 'mx-feedback.mail.example.com' }),
      ConfigurationSetAttributes: { ConfigurationSetName: 'shared-set' },
    });
    expect(outputValue(template, 'SenderMailFromSpfRecord')).toBe(
      'mx-feedback.mail.example.com TXT "v=spf1 include:amazonses.com ~all"',
    );
    expect(outputValue(template, 'SenderDmarcRecord')).toBe(
      '_dmarc.mail.example.com TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"',
    );
  });

  it('refuses a sender address outside senderDomain, naming both', () => {
    for (const senderAddress of [
      'notifications@example.com',
      'notifications@example.org',
      // A look-alike that merely ends in the same letters.
      'notifications@evilmail.example.com',
    ]) {
      expect(() => synthesize({ senderDomain, senderAddress })).toThrow(
        new RegExp(`senderAddress: ${senderAddress} is not in senderDomain mail\\.example\\.com`),
      );
    }
  });

  it('refuses a malformed domain or MAIL FROM subdomain, and a sender in the MAIL FROM domain', () => {
    expect(() => synthesize({ senderDomain: 'not a domain' })).toThrow(/senderDomain/);
    expect(() => synthesize({ senderDomain: 'localhost' })).toThrow(/senderDomain/);
    expect(() => synthesize({ senderDomain, mailFromSubdomain: 'bounce.mail' })).toThrow(
      /mailFromSubdomain/,
    );
    expect(() =>
      synthesize({ senderDomain, senderAddress: 'notifications@bounce.mail.example.com' }),
    ).toThrow(/MAIL FROM domain/);
  });
});

describe('without senderDomain', () => {
  it('creates no identity and no DNS record outputs, and sends as the configured address', () => {
    const { template } = synthesize({ senderAddress: 'alerts@example.org' });
    template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    for (const id of recordOutputs) expect(template.findOutputs(id)).toEqual({});
    const notifier = functionId(template, 'emails owners and opted-in developers');
    expect(variablesOf(template, notifier).SENDER_ADDRESS).toBe('alerts@example.org');
  });

  it('still sends as notifications@example.com by default', () => {
    const { template } = synthesize();
    const notifier = functionId(template, 'emails owners and opted-in developers');
    expect(variablesOf(template, notifier).SENDER_ADDRESS).toBe('notifications@example.com');
  });
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

  it('is acknowledged to cdk-nag in a stack with its own account and region too', () => {
    // There the finding names the region and account themselves, not their pseudo parameters.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], senderDomain } });
    const stack = new TokenwatchStack(app, 'Placed', {
      config: readStackConfig(app.node),
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
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

describe('the secrets', () => {
  it('are kept when the stack is deleted with retainData (the default), so sent unsubscribe links keep working', () => {
    const { template } = synthesize();
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    expect(template.findOutputs('UnsubscribeKeySecretName')).not.toEqual({});
  });

  it('go with the stack when retainData is off', () => {
    const { template } = synthesize({ retainData: 'false' });
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
  });

  it('can use a kept signing key by name instead of making a new one', () => {
    const { template } = synthesize({ unsubscribeKeySecretName: 'tokenwatch-prod-unsubscribe' });
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { Description: Match.stringLikeRegexp('signs one-click unsubscribe links') },
      0,
    );
    const notifier = functionId(template, 'emails owners and opted-in developers');
    expect(JSON.stringify(variablesOf(template, notifier).UNSUBSCRIBE_KEY_SECRET_ID)).toContain(
      ':secret:tokenwatch-prod-unsubscribe',
    );
    expect(JSON.stringify(statementsOf(template, notifier))).toContain(
      ':secret:tokenwatch-prod-unsubscribe-??????',
    );
    expect(template.findOutputs('UnsubscribeKeySecretName').UnsubscribeKeySecretName).toEqual({
      Value: 'tokenwatch-prod-unsubscribe',
    });
  });
});

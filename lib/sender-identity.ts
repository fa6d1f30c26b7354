/**
 * Who tokenwatch sends as. With `senderDomain`, an SES domain identity with Easy DKIM and a
 * custom MAIL FROM subdomain, and the DNS records to publish for it as stack outputs (README,
 * "Sending email"); without it, the operator verifies the sender in SES by hand. Either way, the
 * one permission to send as the sender address (`grantSendAs`), shared by every function that
 * sends.
 */
import { Aws, CfnOutput, Stack, Token, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  ConfigurationSet,
  DkimIdentity,
  EasyDkimSigningKeyLength,
  EmailIdentity,
  Identity,
  MailFromBehaviorOnMxFailure,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { TokenwatchFunction } from './tokenwatch-function';

/** The domain part of an email address, lower-cased; undefined for anything else. */
export function domainOf(address: string): string | undefined {
  return /^[^@\s]+@([^@\s]+)$/.exec(address)?.[1]?.toLowerCase();
}

/** Whether `address` is at `domain` or at one of its subdomains (case-insensitive). */
export function isAddressInDomain(address: string, domain: string): boolean {
  const at = domainOf(address);
  const own = domain.toLowerCase();
  return at !== undefined && (at === own || at.endsWith(`.${own}`));
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
  // cdk-nag names the finding by the resource as synthesized: a pseudo parameter, or the
  // stack's own region and account when it has them.
  const shown = (value: string, pseudo: string) =>
    Token.isUnresolved(value) ? `<${pseudo}>` : value;
  Validations.of(fn).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:${shown(region, 'AWS::Region')}:${shown(account, 'AWS::AccountId')}:identity/*]`,
    reason:
      'In the SES sandbox a send is also authorized against the (verified) recipient identity, which is not known at deploy time; the ses:FromAddress condition limits every send to the one sender address.',
  });
}

/** A DNS record to publish, as a zone file would hold it. */
export interface DnsRecord {
  readonly name: string;
  readonly type: 'CNAME' | 'MX' | 'TXT';
  readonly value: string;
}

export interface SenderIdentityProps {
  /** The domain to verify, e.g. `mail.example.com`. */
  readonly domain: string;
  /** The From address; must be at `domain` or one of its subdomains. */
  readonly senderAddress: string;
  /** The MAIL FROM (Return-Path) domain is `<mailFromSubdomain>.<domain>`. @default 'bounce' */
  readonly mailFromSubdomain?: string;
  /** Made the identity's default configuration set, so every send from it is tracked. */
  readonly configurationSetName: string;
  /** Where DMARC aggregate reports go, in the suggested record. @default `dmarc-reports@<domain>` */
  readonly dmarcReportAddress?: string;
}

const dnsName =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export class SenderIdentity extends Construct {
  readonly identity: EmailIdentity;
  readonly mailFromDomain: string;
  /** The records to publish, in the order of the stack outputs. */
  readonly records: readonly DnsRecord[];

  constructor(scope: Construct, id: string, props: SenderIdentityProps) {
    super(scope, id);
    const domain = props.domain.toLowerCase();
    if (!dnsName.test(domain) || !domain.includes('.')) {
      throw new Error(`senderDomain: ${props.domain} is not a domain name`);
    }
    const subdomain = (props.mailFromSubdomain ?? 'bounce').toLowerCase();
    if (!dnsName.test(subdomain)) {
      throw new Error(`mailFromSubdomain: ${subdomain} is not a DNS name`);
    }
    if (!isAddressInDomain(props.senderAddress, domain)) {
      throw new Error(
        `senderAddress: ${props.senderAddress} is not in senderDomain ${domain} (or a subdomain of it); SES would refuse to send as it`,
      );
    }
    this.mailFromDomain = `${subdomain}.${domain}`;
    // SES: the MAIL FROM domain cannot also be a From domain.
    if (domainOf(props.senderAddress) === this.mailFromDomain) {
      throw new Error(
        `senderAddress: ${props.senderAddress} is in the MAIL FROM domain ${this.mailFromDomain}; pick another mailFromSubdomain or sender`,
      );
    }
    const dmarcReportAddress = props.dmarcReportAddress ?? `dmarc-reports@${domain}`;

    this.identity = new EmailIdentity(this, 'Identity', {
      identity: Identity.domain(domain),
      dkimIdentity: DkimIdentity.easyDkim(EasyDkimSigningKeyLength.RSA_2048_BIT),
      dkimSigning: true,
      mailFromDomain: this.mailFromDomain,
      // Until the MX record is published (or if it goes missing), mail still goes out with
      // SES's own MAIL FROM: SPF then does not align, but DKIM still does, so DMARC passes.
      mailFromBehaviorOnMxFailure: MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
      configurationSet: ConfigurationSet.fromConfigurationSetName(
        this,
        'ConfigurationSet',
        props.configurationSetName,
      ),
    });

    const dkim = this.identity.dkimRecords.map((record): DnsRecord => ({
      name: record.name,
      type: 'CNAME',
      value: record.value,
    }));
    this.records = [
      ...dkim,
      {
        name: this.mailFromDomain,
        type: 'MX',
        value: `10 feedback-smtp.${Stack.of(this).region}.amazonses.com`,
      },
      { name: this.mailFromDomain, type: 'TXT', value: '"v=spf1 include:amazonses.com ~all"' },
      {
        name: `_dmarc.${domain}`,
        type: 'TXT',
        value: `"v=DMARC1; p=none; rua=mailto:${dmarcReportAddress}"`,
      },
    ];

    const outputs: [string, string][] = [
      ['SenderDkimRecord1', 'Easy DKIM: publish this CNAME record (1 of 3)'],
      ['SenderDkimRecord2', 'Easy DKIM: publish this CNAME record (2 of 3)'],
      ['SenderDkimRecord3', 'Easy DKIM: publish this CNAME record (3 of 3)'],
      ['SenderMailFromMxRecord', 'Custom MAIL FROM: publish this MX record'],
      ['SenderMailFromSpfRecord', 'Custom MAIL FROM: publish this SPF (TXT) record'],
      ['SenderDmarcRecord', 'Suggested DMARC (TXT) record: start with p=none, then tighten'],
    ];
    outputs.forEach(([outputId, description], index) => {
      const record = this.records[index] as DnsRecord;
      const output = new CfnOutput(this, outputId, {
        description,
        value: `${record.name} ${record.type} ${record.value}`,
      });
      // Plain names, as the stack's other outputs have, for the operator to look up.
      output.overrideLogicalId(outputId);
    });
  }
}

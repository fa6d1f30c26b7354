/**
 * The two secrets tokenwatch holds: the key that signs one-click unsubscribe links (generated
 * here, shared by the notifier that signs and the API that verifies), and the Instagram app's
 * credentials (created empty for the operator to fill in after deploy). Either can instead be
 * imported by name, such as the one a deleted stack kept: both are kept with `retainData`, as
 * the table is, since a new key would break every unsubscribe link already sent.
 */
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface SecretsProps {
  /** @default a new, empty secret to fill with `{"appId": "...", "appSecret": "..."}` */
  readonly instagramAppSecretName?: string;
  /** @default a new secret with a generated key */
  readonly unsubscribeKeySecretName?: string;
  /** Keep the secrets the stack creates when it is deleted. @default true */
  readonly retainData?: boolean;
}

export class Secrets extends Construct {
  readonly unsubscribeSigningKey: ISecret;
  readonly instagramApp: ISecret;

  constructor(scope: Construct, id: string, props: SecretsProps = {}) {
    super(scope, id);
    const removalPolicy = (props.retainData ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    if (props.unsubscribeKeySecretName) {
      this.unsubscribeSigningKey = Secret.fromSecretNameV2(
        this,
        'UnsubscribeSigningKey',
        props.unsubscribeKeySecretName,
      );
    } else {
      const created = new Secret(this, 'UnsubscribeSigningKey', {
        description: 'tokenwatch: HMAC key that signs one-click unsubscribe links',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy,
      });
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating this key would break every unsubscribe link already sent; links carry their own expiry instead.',
      });
      this.unsubscribeSigningKey = created;
    }

    if (props.instagramAppSecretName) {
      this.instagramApp = Secret.fromSecretNameV2(
        this,
        'InstagramApp',
        props.instagramAppSecretName,
      );
    } else {
      // Created with empty fields, not a generated password: until an operator fills them in,
      // the API says the app is not configured instead of calling Instagram with nonsense.
      const created = new Secret(this, 'InstagramApp', {
        description:
          'tokenwatch: Instagram app credentials, {"appId": "...", "appSecret": "..."}; fill in after deploy',
        secretObjectValue: {
          appId: SecretValue.unsafePlainText(''),
          appSecret: SecretValue.unsafePlainText(''),
        },
        removalPolicy,
      });
      Validations.of(created).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The Instagram app secret is issued by Meta; it is rotated in the Meta developer console, not by a Lambda.',
      });
      this.instagramApp = created;
    }
  }
}

/**
 * The two secrets tokenwatch holds: the key that signs one-click unsubscribe links (generated
 * here, shared by the notifier that signs and the API that verifies), and the Instagram app's
 * credentials (imported by name, or created empty for the operator to fill in after deploy).
 */
import { SecretValue, Validations } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface SecretsProps {
  /** @default a new, empty secret to fill with `{"appId": "...", "appSecret": "..."}` */
  readonly instagramAppSecretName?: string;
}

export class Secrets extends Construct {
  readonly unsubscribeSigningKey: Secret;
  readonly instagramApp: ISecret;

  constructor(scope: Construct, id: string, props: SecretsProps = {}) {
    super(scope, id);
    this.unsubscribeSigningKey = new Secret(this, 'UnsubscribeSigningKey', {
      description: 'tokenwatch: HMAC key that signs one-click unsubscribe links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.unsubscribeSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating this key would break every unsubscribe link already sent; links carry their own expiry instead.',
    });

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

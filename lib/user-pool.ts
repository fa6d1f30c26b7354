/**
 * The default identity provider: a Cognito user pool with a public (SPA) client for users, a
 * resource server `tokenwatch` with the scope `service`, a confidential client for the widget
 * service (client credentials, that scope, nothing else), and a domain for the token endpoint.
 * Made in the API construct's scope (its construct ids are the ones it always had) when no
 * `jwtIssuer` is configured.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  UserPool,
  UserPoolResourceServer,
} from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { serviceResourceServer } from '../functions/api/scopes';

export interface UserPoolProps {
  /** The frontend's base URL: the client's callback and logout URL. */
  readonly appUrl: string;
  /** @default 'dev' */
  readonly stage?: string;
  /** @default `tokenwatch-<stage>-<account id>` */
  readonly cognitoDomainPrefix?: string;
  /** Keep the pool when the stack is deleted. @default true */
  readonly retainData?: boolean;
}

export function createUserPool(scope: Construct, props: UserPoolProps) {
  const retainData = props.retainData ?? true;
  const userPool = new UserPool(scope, 'UserPool', {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    autoVerify: { email: true },
    accountRecovery: AccountRecovery.EMAIL_ONLY,
    mfa: Mfa.OPTIONAL,
    mfaSecondFactor: { otp: true, sms: false },
    passwordPolicy: {
      minLength: 12,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    deletionProtection: retainData,
    removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  Validations.of(userPool).acknowledge({
    id: 'AwsSolutions-COG2',
    reason:
      'MFA is optional (TOTP) rather than required: this default pool is for development stages; production stages configure the frontend identity provider through jwtIssuer.',
  });
  Validations.of(userPool).acknowledge({
    id: 'AwsSolutions-COG8',
    reason:
      'The Plus feature plan is a cost decision for production stages, which bring their own identity provider through jwtIssuer; this pool serves development stages.',
  });
  Validations.of(userPool).acknowledge({
    id: 'AwsSolutions-COG3',
    reason:
      'Threat protection needs the Cognito Plus feature plan, a cost decision for production stages, which bring their own identity provider through jwtIssuer.',
  });
  const client = userPool.addClient('FrontendClient', {
    generateSecret: false,
    authFlows: { userSrp: true },
    // Only the code flow (with PKCE), and no `aws.cognito.signin.user.admin`: the defaults
    // would allow the implicit flow, which hands tokens over in the URL.
    oAuth: {
      flows: { authorizationCodeGrant: true, implicitCodeGrant: false },
      scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
      callbackUrls: [props.appUrl],
      logoutUrls: [props.appUrl],
    },
    preventUserExistenceErrors: true,
    accessTokenValidity: Duration.hours(1),
    idTokenValidity: Duration.hours(1),
  });

  const serviceScope = new ResourceServerScope({
    scopeName: serviceResourceServer.scope,
    scopeDescription: 'The widget service: users, accounts, tokens and developer roles',
  });
  const resourceServer = new UserPoolResourceServer(scope, 'ServiceResourceServer', {
    userPool,
    identifier: serviceResourceServer.identifier,
    userPoolResourceServerName: 'tokenwatch service API',
    scopes: [serviceScope],
  });
  const serviceClient = userPool.addClient('ServiceClient', {
    generateSecret: true,
    authFlows: {},
    oAuth: {
      flows: { clientCredentials: true },
      scopes: [OAuthScope.resourceServer(resourceServer, serviceScope)],
    },
    preventUserExistenceErrors: true,
    accessTokenValidity: Duration.hours(1),
  });

  const stack = Stack.of(scope);
  const domain = userPool.addDomain('Domain', {
    cognitoDomain: {
      domainPrefix:
        props.cognitoDomainPrefix ?? `tokenwatch-${props.stage ?? 'dev'}-${stack.account}`,
    },
  });
  return {
    userPool,
    client,
    serviceClient,
    tokenUrl: `${domain.baseUrl()}/oauth2/token`,
  };
}

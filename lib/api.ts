/**
 * The HTTP API: API Gateway v2 with a JWT authorizer, CORS for the frontend's origin only,
 * access logs and throttling on its one stage, and one function per route of lib/routes.ts,
 * each granted exactly what its route's flags say it needs.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AccountRecovery,
  Mfa,
  UserPool,
  UserPoolClient,
  type IUserPool,
} from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StackConfig } from './config';
import { cors, routes, type RouteDefinition } from './routes';
import type { Secrets } from './secrets';
import { grantTableActions, logRetention } from './function-access';
import { TokenwatchFunction } from './tokenwatch-function';

export interface ApiProps {
  readonly config: StackConfig;
  readonly table: ITableV2;
  readonly bus: IEventBus;
  readonly secrets: Secrets;
}

/** A construct id from a route entry: `refresh-instagram-token` → `RefreshInstagramToken`. */
const pascal = (entry: string) =>
  entry.replace(/(^|-)(\w)/g, (_match, _dash, letter: string) => letter.toUpperCase());

export class Api extends Construct {
  /** The API's base URL, ending in `/`. */
  readonly url: string;
  /** The full URL of `POST /unsubscribe`, for the links in emails. */
  readonly unsubscribeUrl: string;
  readonly httpApi: HttpApi;
  /** The functions, by route entry. */
  readonly functions: ReadonlyMap<string, TokenwatchFunction>;
  /** Set when no issuer was configured and the stack made its own. */
  readonly userPool?: IUserPool;
  readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { config } = props;
    if ((config.jwtIssuer === undefined) !== (config.jwtAudience === undefined)) {
      throw new Error('jwtIssuer and jwtAudience must be given together, or neither');
    }
    const retention = logRetention(config.logRetentionDays);

    let issuer = config.jwtIssuer;
    let audience = config.jwtAudience;
    if (issuer === undefined || audience === undefined) {
      const pool = this.createUserPool(config);
      issuer = `https://cognito-idp.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${pool.userPool.userPoolId}`;
      audience = pool.client.userPoolClientId;
      this.userPool = pool.userPool;
      this.userPoolClient = pool.client;
    }
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer, {
      jwtAudience: [audience],
    });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `tokenwatch (${config.stage}): notification preferences, Instagram tokens, unsubscribe`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [new URL(config.appUrl).origin],
        allowMethods: cors.allowMethods.map((method) => CorsHttpMethod[method]),
        allowHeaders: [...cors.allowHeaders],
        maxAge: Duration.seconds(cors.maxAgeSeconds),
      },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.apiThrottleRate, burstLimit: config.apiThrottleBurst },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // $context.path carries no query string, so no unsubscribe token reaches the logs.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            user: '$context.authorizer.claims.sub',
          }),
        ),
      },
    });
    this.url = stage.url;
    this.unsubscribeUrl = `${this.url}unsubscribe`;

    const functions = new Map<string, TokenwatchFunction>();
    for (const route of routes) {
      const fn = this.routeFunction(route, props, retention);
      functions.set(route.entry, fn);
      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${pascal(route.entry)}Integration`, fn),
        authorizer: route.auth === 'jwt' ? authorizer : undefined,
      });
      if (route.auth === 'none' && httpRoute) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The one-click unsubscribe link (RFC 8058) is opened from an email, where no sign-in exists; it is authorized by its own HMAC-signed, expiring token instead.',
        });
      }
    }
    this.functions = functions;
  }

  private routeFunction(
    route: RouteDefinition,
    { config, table, bus, secrets }: ApiProps,
    logRetention: RetentionDays,
  ): TokenwatchFunction {
    const environment: Record<string, string> = { APP_URL: config.appUrl };
    if (route.callsInstagram) {
      Object.assign(environment, {
        INSTAGRAM_GRAPH_URL: config.instagramGraphUrl,
        INSTAGRAM_API_URL: config.instagramApiUrl,
        INSTAGRAM_AUTHORIZE_URL: config.instagramAuthorizeUrl,
        INSTAGRAM_REDIRECT_URI: config.instagramRedirectUri,
      });
    }
    const fn = new TokenwatchFunction(this, pascal(route.entry), {
      entry: route.entry,
      description: `tokenwatch API: ${route.method} ${route.path}: ${route.summary}`.slice(0, 256),
      environment,
      logRetention,
      // Two Instagram calls (4 s each at most), a cold secret read and a publish: 10 s is too
      // tight, and a timeout after the code exchange would burn the one-time code. API Gateway
      // waits up to 30 s.
      timeout: route.callsInstagram ? Duration.seconds(20) : undefined,
    });
    grantTableActions(fn, table, route.table);
    if (route.publishesEvents) {
      bus.grantPutEventsTo(fn);
      fn.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    }
    if (route.readsInstagramApp) {
      secrets.instagramApp.grantRead(fn);
      fn.addEnvironment('INSTAGRAM_APP_SECRET_ID', secrets.instagramApp.secretArn);
    }
    if (route.readsUnsubscribeKey) {
      secrets.unsubscribeSigningKey.grantRead(fn);
      fn.addEnvironment('UNSUBSCRIBE_KEY_SECRET_ID', secrets.unsubscribeSigningKey.secretArn);
    }
    return fn;
  }

  /** The default identity provider: a Cognito user pool and a public (SPA) client. */
  private createUserPool(config: StackConfig) {
    const userPool = new UserPool(this, 'UserPool', {
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
      deletionProtection: config.retainData,
      removalPolicy: config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
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
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
    });
    return { userPool, client };
  }
}

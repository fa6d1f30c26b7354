/**
 * The HTTP API: API Gateway v2 with two JWT authorizers (users; the widget service, whose routes
 * also require the scope `tokenwatch/service`), CORS for the frontend's origin only,
 * access logs and throttling on its one stage, and one function per route of lib/routes.ts,
 * each granted exactly what its route's flags say it needs.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
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
import type { IUserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StormSettings } from '../functions/storm/storm-guard';
import { stormVariables } from './storm';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  declaredEnvironment,
  functionEnvironments,
  type DeployedEnvironment,
} from '../functions/environment/variables';
import type { TokenSchedule } from '../functions/tokens/token-schedule';
import { cors, routes, type RouteDefinition, type RouteEntry } from './routes';
import { grantTableActions } from './function-access';
import { tokenScheduleVariables } from './token-schedule';
import { TokenwatchFunction } from './tokenwatch-function';
import { createUserPool } from './user-pool';

/** Where the routes that call Instagram reach it. */
export interface InstagramEndpoints {
  readonly graphUrl: string;
  readonly apiUrl: string;
  readonly authorizeUrl: string;
  /** Where Instagram sends the user back after re-authorizing. */
  readonly redirectUri: string;
}

export interface ApiProps {
  readonly table: ITableV2;
  readonly bus: IEventBus;
  /** `{"appId": "...", "appSecret": "..."}` of the Instagram app. */
  readonly instagramAppSecret: ISecret;
  /** The key unsubscribe links are signed with. */
  readonly unsubscribeSigningKey: ISecret;
  /** The frontend's base URL: CORS allows its origin only, and pages link back to it. */
  readonly appUrl: string;
  readonly instagram: InstagramEndpoints;
  /**
   * When the tokens the routes store are refreshed and warned about.
   * @default 14 days; warnings 7 and 1 days before expiry
   */
  readonly tokenSchedule?: TokenSchedule;
  /** How long a new reconnect link works, in hours. @default 72 */
  readonly reconnectLinkHours?: number;
  /** How much trouble in an hour is a storm. @default 20 tokens and 10 % */
  readonly storm?: StormSettings;
  /** Named in the API's description. @default 'dev' */
  readonly stage?: string;
  /** The frontend identity provider's JWT issuer; give `jwtAudience` with it. @default a Cognito user pool made here */
  readonly jwtIssuer?: string;
  /** @default the client of the Cognito user pool made here */
  readonly jwtAudience?: string;
  /**
   * With `jwtIssuer`: the audience (`aud`, or `client_id` when a token has none) of the widget
   * service's client-credentials tokens; that provider must issue them the scope
   * `tokenwatch/service`. @default jwtAudience, or the service client of the pool made here
   */
  readonly serviceJwtAudience?: string;
  /**
   * The prefix of the Cognito domain made with the pool, for its token endpoint.
   * @default `tokenwatch-<stage>-<account id>`
   */
  readonly cognitoDomainPrefix?: string;
  /** Requests per second, steady, for the whole API. @default 50 */
  readonly throttleRate?: number;
  /** @default 100 */
  readonly throttleBurst?: number;
  /** Keep the user pool made here when the stack is deleted. @default true */
  readonly retainData?: boolean;
  /** Of the functions' logs and the access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** A construct id from a route entry: `refresh-instagram-token` → `RefreshInstagramToken`. */
const pascal = (entry: string) =>
  entry.replace(/(^|-)(\w)/g, (_match, _dash, letter: string) => letter.toUpperCase());

export class Api extends Construct {
  /** The API's base URL, ending in `/`. */
  readonly url: string;
  /** The full URL of `POST /unsubscribe`, for the links in emails. */
  readonly unsubscribeUrl: string;
  /** Where Instagram sends a reconnect link's holder back: the app's second redirect URI. */
  readonly linkRedirectUri: string;
  readonly httpApi: HttpApi;
  /** The functions, by route entry. */
  readonly functions: ReadonlyMap<string, TokenwatchFunction>;
  /** Set when no issuer was configured and the stack made its own. */
  readonly userPool?: IUserPool;
  readonly userPoolClient?: UserPoolClient;
  /** The widget service's confidential client (client credentials only), with the pool. */
  readonly serviceClient?: UserPoolClient;
  /** Where the widget service gets its token (`POST`, client credentials), with the pool. */
  readonly serviceTokenUrl?: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    checkProps(props);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    const { authorizer, serviceAuthorizer, pool } = this.createAuthorizers(props);
    this.userPool = pool?.userPool;
    this.userPoolClient = pool?.client;
    this.serviceClient = pool?.serviceClient;
    this.serviceTokenUrl = pool?.tokenUrl;

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: `tokenwatch (${props.stage ?? 'dev'}): notification preferences, Instagram tokens, unsubscribe`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [new URL(props.appUrl).origin],
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
      throttle: { rateLimit: props.throttleRate ?? 50, burstLimit: props.throttleBurst ?? 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // $context.path carries no query string, so no unsubscribe token, reconnect link key
        // (`?key=`) or Instagram code reaches the logs.
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
    this.linkRedirectUri = `${this.url}reconnect/callback`;
    new CfnOutput(this, 'InstagramLinkRedirectUri', {
      description: "Add it to the Instagram app's valid OAuth redirect URIs (reconnect links)",
      value: this.linkRedirectUri,
    });

    // Every value any route may need; each route's function gets the ones its handler declares.
    const environment: DeployedEnvironment<RouteEntry> = {
      TABLE_NAME: props.table.tableName,
      EVENT_BUS_NAME: props.bus.eventBusName,
      APP_URL: props.appUrl,
      API_URL: this.url,
      UNSUBSCRIBE_KEY_SECRET_ID: props.unsubscribeSigningKey.secretArn,
      INSTAGRAM_APP_SECRET_ID: props.instagramAppSecret.secretArn,
      INSTAGRAM_GRAPH_URL: props.instagram.graphUrl,
      INSTAGRAM_API_URL: props.instagram.apiUrl,
      INSTAGRAM_AUTHORIZE_URL: props.instagram.authorizeUrl,
      INSTAGRAM_REDIRECT_URI: props.instagram.redirectUri,
      INSTAGRAM_LINK_REDIRECT_URI: this.linkRedirectUri,
      RECONNECT_LINK_HOURS: String(props.reconnectLinkHours ?? 72),
      ...tokenScheduleVariables(props.tokenSchedule),
      ...stormVariables(props.storm),
    };
    const functions = new Map<string, TokenwatchFunction>();
    for (const route of routes) {
      const fn = this.routeFunction(route, props, { environment, retention });
      functions.set(route.entry, fn);
      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${pascal(route.entry)}Integration`, fn),
        authorizer:
          route.auth === 'jwt'
            ? authorizer
            : route.auth === 'service'
              ? serviceAuthorizer
              : undefined,
        authorizationScopes: route.scopes ? [...route.scopes] : undefined,
      });
      if (route.auth === 'none' && httpRoute) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The one-click unsubscribe link (RFC 8058) is opened from an email, where no sign-in exists, and Meta calls its callbacks without one: each is authorized by its own HMAC signature instead (an expiring token; the Instagram app secret), the data deletion status page by an unguessable code, and a reconnect link by its 256-bit secret (the callback by a MAC under the Instagram app secret).',
        });
      }
    }
    this.functions = functions;
  }

  private routeFunction(
    route: RouteDefinition<RouteEntry>,
    { table, bus, instagramAppSecret, unsubscribeSigningKey }: ApiProps,
    options: { environment: DeployedEnvironment<RouteEntry>; retention: RetentionDays },
  ): TokenwatchFunction {
    const fn = new TokenwatchFunction(this, pascal(route.entry), {
      entry: route.entry,
      description: `tokenwatch API: ${route.method} ${route.path}: ${route.summary}`.slice(0, 256),
      environment: declaredEnvironment(route.entry, options.environment),
      logRetention: options.retention,
      // Two Instagram calls (4 s each at most), a cold secret read and a publish: 10 s is too
      // tight, and a timeout after the code exchange would burn the one-time code. API Gateway
      // waits up to 30 s.
      timeout: route.callsInstagram ? Duration.seconds(20) : undefined,
    });
    grantTableActions(fn, table, route.table);
    if (route.publishesEvents) bus.grantPutEventsTo(fn);
    if (route.readsInstagramApp) instagramAppSecret.grantRead(fn);
    if (route.readsUnsubscribeKey) unsubscribeSigningKey.grantRead(fn);
    return fn;
  }

  /**
   * The users' authorizer and the widget service's, for the operator's identity provider or a
   * Cognito user pool made here (with the service's client and token endpoint, as outputs).
   */
  private createAuthorizers(props: ApiProps) {
    let made: ReturnType<typeof createUserPool> | undefined;
    let issuer = props.jwtIssuer;
    let audience = props.jwtAudience;
    let serviceAudience = props.serviceJwtAudience ?? props.jwtAudience;
    if (issuer === undefined || audience === undefined || serviceAudience === undefined) {
      const pool = createUserPool(this, props);
      issuer = `https://cognito-idp.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${pool.userPool.userPoolId}`;
      audience = pool.client.userPoolClientId;
      // Cognito's client-credentials tokens carry no `aud`: API Gateway then matches `client_id`.
      serviceAudience = pool.serviceClient.userPoolClientId;
      made = pool;
      new CfnOutput(this, 'ServiceClientId', {
        description:
          'The widget service client (client credentials); its secret: aws cognito-idp describe-user-pool-client',
        value: pool.serviceClient.userPoolClientId,
      });
      new CfnOutput(this, 'ServiceTokenUrl', {
        description: 'POST grant_type=client_credentials&scope=tokenwatch/service here',
        value: pool.tokenUrl,
      });
      new CfnOutput(this, 'UserPoolId', { value: pool.userPool.userPoolId });
    }
    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer, {
      jwtAudience: [audience],
    });
    // A separate authorizer for the widget service: a user's token never passes its audience,
    // and a service token never passes the users' (when the audiences differ; the handlers
    // refuse a service token on a user route in any case).
    const serviceAuthorizer = new HttpJwtAuthorizer('ServiceJwtAuthorizer', issuer, {
      jwtAudience: [serviceAudience],
    });
    return { authorizer, serviceAuthorizer, pool: made };
  }
}

/** Bad props fail the synth with their name, before anything is built. */
function checkProps(props: ApiProps): void {
  if ((props.jwtIssuer === undefined) !== (props.jwtAudience === undefined)) {
    throw new Error('jwtIssuer and jwtAudience must be given together, or neither');
  }
  if (props.serviceJwtAudience !== undefined && props.jwtIssuer === undefined) {
    throw new Error('serviceJwtAudience needs jwtIssuer: without it the stack makes the client');
  }
  for (const [name, value] of [
    ['throttleRate', props.throttleRate],
    ['throttleBurst', props.throttleBurst],
    ['reconnectLinkHours', props.reconnectLinkHours],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new Error(`${name}: ${value} is not a positive whole number`);
    }
  }
  for (const route of routes) {
    // The grants follow the route's flags, the variables its handler's declaration: they must agree.
    const declared = Object.keys(functionEnvironments[route.entry]);
    for (const [flag, variable] of [
      ['publishesEvents', 'EVENT_BUS_NAME'],
      ['readsInstagramApp', 'INSTAGRAM_APP_SECRET_ID'],
      ['readsUnsubscribeKey', 'UNSUBSCRIBE_KEY_SECRET_ID'],
      ['callsInstagram', 'INSTAGRAM_GRAPH_URL'],
    ] as const) {
      if ((route[flag] === true) !== declared.includes(variable)) {
        throw new Error(
          `route ${route.entry}: ${flag} is ${String(route[flag] === true)}, yet its handler ${declared.includes(variable) ? 'reads' : 'does not read'} ${variable}`,
        );
      }
    }
  }
}

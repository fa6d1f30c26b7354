import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { routes, type RouteDefinition } from '../../lib/routes';
import { synthesize } from '../support/stack';

type Resource = { Properties: Record<string, unknown> };
const { template, stack } = synthesize();
const resources = (type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];

/** The function serving a route, found by the description the construct gives it. */
function functionOf(route: RouteDefinition): [string, Resource] {
  const found = resources('AWS::Lambda::Function').filter(([, fn]) =>
    String(fn.Properties.Description).startsWith(`tokenwatch API: ${route.method} ${route.path}:`),
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource];
}

function environmentOf(route: RouteDefinition): Record<string, unknown> {
  const [, fn] = functionOf(route);
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Every action the function's role may take, as one string per statement. */
function statementsOf(route: RouteDefinition): string[] {
  const [, fn] = functionOf(route);
  const role = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return resources('AWS::IAM::Policy')
    .filter(([, policy]) =>
      (policy.Properties.Roles as { Ref: string }[]).some((ref) => ref.Ref === role),
    )
    .flatMap(
      ([, policy]) => (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement,
    )
    .map((statement) => JSON.stringify(statement));
}

const route = (entry: string) => {
  const found = routes.find((r) => r.entry === entry);
  if (!found) throw new Error(entry);
  return found;
};

describe('the HTTP API', () => {
  it('deploys exactly the routes of lib/routes.ts, each with the authorization it declares', () => {
    const deployed = resources('AWS::ApiGatewayV2::Route').map(([, r]) => ({
      routeKey: r.Properties.RouteKey,
      authorizationType: r.Properties.AuthorizationType ?? 'NONE',
      scopes: r.Properties.AuthorizationScopes ?? [],
    }));
    expect(deployed.sort((a, b) => String(a.routeKey).localeCompare(String(b.routeKey)))).toEqual(
      routes
        .map((r) => ({
          routeKey: `${r.method} ${r.path}`,
          authorizationType: r.auth === 'none' ? 'NONE' : 'JWT',
          scopes: r.auth === 'service' ? ['tokenwatch/service'] : [],
        }))
        .sort((a, b) => a.routeKey.localeCompare(b.routeKey)),
    );
  });

  it('gives every route its own function, Node.js 24 on arm64', () => {
    for (const r of routes) {
      const [, fn] = functionOf(r);
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  it('allows CORS from the frontend origin only, with the headers the frontend sends', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com'],
        AllowHeaders: ['authorization', 'content-type'],
        AllowMethods: ['GET', 'PUT', 'POST', 'DELETE'],
      },
    });
    const { template: other } = synthesize({ appUrl: 'https://widgets.example.org/app/' });
    other.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://widgets.example.org'] }),
    });
  });

  it('logs every request of its one stage without query strings, and throttles it', () => {
    const [[, stage]] = resources('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const logs = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(logs.DestinationArn).toBeDefined();
    const format = JSON.parse(logs.Format) as Record<string, string>;
    expect(format.requestId).toBe('$context.requestId');
    expect(logs.Format).not.toMatch(/querystring|rawQueryString|\$input/i);
    const { template: busy } = synthesize({ apiThrottleRate: '7', apiThrottleBurst: '9' });
    busy.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
  });

  it('uses a Cognito user pool and its client when no issuer is configured', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', { GenerateSecret: false });
    const [[, authorizer]] = resources('AWS::ApiGatewayV2::Authorizer') as [[string, Resource]];
    expect(authorizer.Properties.AuthorizerType).toBe('JWT');
    expect(JSON.stringify(authorizer.Properties.JwtConfiguration)).toMatch(/UserPool/);
  });

  it('uses the configured issuer and audience, and then creates no user pool', () => {
    const { template: own } = synthesize({
      jwtIssuer: 'https://id.example.com/',
      jwtAudience: 'frontend',
    });
    own.resourceCountIs('AWS::Cognito::UserPool', 0);
    own.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://id.example.com/', Audience: ['frontend'] },
    });
  });

  it('puts every /service route behind the service authorizer and its scope, and no other', () => {
    const authorizers = resources('AWS::ApiGatewayV2::Authorizer');
    const serviceAuthorizer = authorizers.find(([id]) => id.includes('ServiceJwtAuthorizer'));
    expect(serviceAuthorizer).toBeDefined();
    const [serviceId, service] = serviceAuthorizer as [string, Resource];
    // Its audience is the service client (matched on client_id), not the frontend client.
    expect(JSON.stringify(service.Properties.JwtConfiguration)).toMatch(/ServiceClient/);
    expect(JSON.stringify(service.Properties.JwtConfiguration)).not.toMatch(/FrontendClient/);
    for (const [, r] of resources('AWS::ApiGatewayV2::Route')) {
      const isService = String(r.Properties.RouteKey).includes(' /service/');
      expect(
        JSON.stringify(r.Properties.AuthorizerId ?? null).includes(serviceId),
        String(r.Properties.RouteKey),
      ).toBe(isService);
      expect(r.Properties.AuthorizationScopes, String(r.Properties.RouteKey)).toEqual(
        isService ? ['tokenwatch/service'] : undefined,
      );
    }
  });

  it('makes a resource server, a client-credentials-only service client and a token endpoint', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'tokenwatch',
      Scopes: [{ ScopeName: 'service', ScopeDescription: Match.anyValue() }],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: true,
      AllowedOAuthFlows: ['client_credentials'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: [{ 'Fn::Join': ['', [Match.anyValue(), '/service']] }],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', {
      Domain: { 'Fn::Join': ['', ['tokenwatch-dev-', { Ref: 'AWS::AccountId' }]] },
    });
    template.hasOutput('*', { Description: Match.stringLikeRegexp('widget service client') });
    template.hasOutput('*', { Description: Match.stringLikeRegexp('client_credentials') });
  });

  it('lets the frontend client use neither the implicit flow nor the admin scope', () => {
    const clients = resources('AWS::Cognito::UserPoolClient').map(([, c]) => c.Properties);
    expect(clients).toHaveLength(2);
    for (const client of clients) {
      expect(client.AllowedOAuthFlows, JSON.stringify(client)).not.toContain('implicit');
      expect(JSON.stringify(client.AllowedOAuthScopes ?? [])).not.toMatch(/aws\.cognito\.signin/);
    }
    const frontend = clients.find((c) => c.GenerateSecret === false);
    expect(frontend?.AllowedOAuthFlows).toEqual(['code']);
  });

  it('with jwtIssuer, authorizes service routes for the service audience (jwtAudience by default)', () => {
    const { template: shared } = synthesize({
      jwtIssuer: 'https://id.example.com/',
      jwtAudience: 'frontend',
    });
    expect(
      Object.values(shared.findResources('AWS::ApiGatewayV2::Authorizer')).map(
        (a) => (a as Resource).Properties.JwtConfiguration,
      ),
    ).toEqual([
      { Issuer: 'https://id.example.com/', Audience: ['frontend'] },
      { Issuer: 'https://id.example.com/', Audience: ['frontend'] },
    ]);
    const { template: own } = synthesize({
      jwtIssuer: 'https://id.example.com/',
      jwtAudience: 'frontend',
      serviceJwtAudience: 'widget-service',
    });
    own.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Issuer: 'https://id.example.com/', Audience: ['widget-service'] },
    });
    own.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
  });

  it('refuses an issuer without an audience', () => {
    expect(() => synthesize({ jwtIssuer: 'https://id.example.com/' })).toThrow(/jwtAudience/);
  });

  it('builds the unsubscribe URL from the stage URL', () => {
    expect(stack.api.unsubscribeUrl).toBe(`${stack.api.url}unsubscribe`);
    expect(stack.resolve(stack.api.url)).toMatchObject({
      'Fn::Join': expect.any(Array) as unknown,
    });
  });
});

describe('each route function', () => {
  it('gets only the environment its route declares', () => {
    for (const r of routes) {
      const variables = environmentOf(r);
      expect(variables.TABLE_NAME).toBeDefined();
      expect('EVENT_BUS_NAME' in variables).toBe(r.publishesEvents === true);
      expect('INSTAGRAM_APP_SECRET_ID' in variables).toBe(r.readsInstagramApp === true);
      expect('UNSUBSCRIBE_KEY_SECRET_ID' in variables).toBe(r.readsUnsubscribeKey === true);
      expect('INSTAGRAM_GRAPH_URL' in variables).toBe(r.callsInstagram === true);
    }
    expect(environmentOf(route('reconnect-instagram-token'))).toMatchObject({
      INSTAGRAM_GRAPH_URL: 'https://graph.instagram.com',
      INSTAGRAM_API_URL: 'https://api.instagram.com',
      INSTAGRAM_AUTHORIZE_URL: 'https://www.instagram.com/oauth/authorize',
      INSTAGRAM_REDIRECT_URI: 'https://app.example.com/instagram-accounts/reconnect',
    });
  });

  it('never receives an Instagram credential or signing key as a plain value', () => {
    const json = JSON.stringify(resources('AWS::Lambda::Function'));
    expect(json).not.toMatch(/appSecret|INSTAGRAM_APP_SECRET"|SIGNING_KEY"/);
    const secretId = environmentOf(route('refresh-instagram-token')).INSTAGRAM_APP_SECRET_ID;
    expect(JSON.stringify(secretId)).toMatch(/Ref|arn:/);
  });

  it('may call exactly the DynamoDB actions its route declares, on the table and the indexes it names', () => {
    for (const r of routes) {
      const granted = statementsOf(r)
        .map((text) => JSON.parse(text) as { Action: string | string[]; Resource: unknown })
        .flatMap((statement) =>
          [statement.Action]
            .flat()
            .filter((action) => action.startsWith('dynamodb:'))
            .map((action) => {
              const index = /\/index\/([\w-]+)/.exec(JSON.stringify(statement.Resource))?.[1];
              return index ? `${index} ${action}` : action;
            }),
        )
        .sort();
      const declared = [
        ...r.table.table,
        ...Object.entries(r.table.indexes ?? {}).flatMap(([index, actions]) =>
          actions.map((action) => `${index} ${action}`),
        ),
      ].sort();
      expect(granted, r.entry).toEqual(declared);
    }
  });

  it("gives the routes that call Instagram 20 s, and the others 10 s, within API Gateway's 30 s", () => {
    for (const r of routes) {
      const [, fn] = functionOf(r);
      expect(fn.Properties.Timeout, r.entry).toBe(r.callsInstagram ? 20 : 10);
    }
  });

  it('lets no route scan the table, nor write to it unless it must', () => {
    const readOnly = [
      'get-notification-preferences',
      'list-instagram-accounts',
      'unsubscribe-page',
      'get-service-instagram-token',
      'instagram-data-deletion-status',
      'get-status',
      'get-service-storm',
    ];
    // Only the service API's deletions and Meta's data deletion delete: an account's items, a
    // user's, a role; and ending a storm, which clears the storm guard's hour counters.
    const deletes = [
      'end-service-storm',
      'delete-service-user',
      'delete-service-instagram-account',
      'delete-service-developer-role',
      'instagram-data-deletion',
    ];
    for (const r of routes) {
      const statements = statementsOf(r).join('\n');
      expect(statements, r.entry).not.toMatch(/dynamodb:(Scan|\*)/);
      if (!deletes.includes(r.entry)) {
        expect(statements, r.entry).not.toMatch(/dynamodb:(BatchWriteItem|DeleteItem)/);
      }
      if (readOnly.includes(r.entry)) {
        expect(statements, r.entry).not.toMatch(/dynamodb:(PutItem|UpdateItem)/);
      }
    }
  });

  it('may publish events and read secrets only when its route says so', () => {
    for (const r of routes) {
      const statements = statementsOf(r);
      expect(
        statements.some((s) => s.includes('events:PutEvents')),
        r.entry,
      ).toBe(r.publishesEvents === true);
      const secretReads = statements.filter((s) => s.includes('secretsmanager:GetSecretValue'));
      expect(secretReads.length, r.entry).toBe(
        (r.readsInstagramApp ? 1 : 0) + (r.readsUnsubscribeKey ? 1 : 0),
      );
    }
  });
});

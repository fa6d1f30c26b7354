/**
 * The OAuth 2.0 scope of the widget service (DESIGN.md, "The service API"): a Cognito resource
 * server `tokenwatch` with the scope `service`, so a token carries `tokenwatch/service`. Plain
 * data: the route table (lib/routes.ts), the stack and the local stack read it too.
 */
export const serviceResourceServer = { identifier: 'tokenwatch', scope: 'service' } as const;

export const serviceScope =
  `${serviceResourceServer.identifier}/${serviceResourceServer.scope}` as const;

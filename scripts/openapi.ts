/**
 * Generates docs/openapi.json (OpenAPI 3.1) from the route table and the very schemas the
 * handlers validate with: `npm run openapi`. A test fails when the committed file and the
 * generated one differ, or when either disagrees with the routes the stack deploys.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from '../functions/platform/validation';
import { routes } from '../lib/routes';
import { serviceScope } from '../functions/api/scopes';
import { apiContracts, problemResponse, type RouteContract } from '../functions/api/contracts';
import packageJson from '../package.json' with { type: 'json' };

export const openApiFile = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

type JsonSchema = Record<string, unknown>;

export function buildOpenApiDocument(): Record<string, unknown> {
  const schemas: Record<string, JsonSchema> = {};

  /** A schema as a reference into components; named schemas (`.meta({id})`) become components. */
  function schemaOf(schema: z.ZodMiniType, io: 'input' | 'output'): JsonSchema {
    const converted = JSON.parse(
      JSON.stringify(z.toJSONSchema(schema, { target: 'draft-2020-12', io })).replaceAll(
        '#/$defs/',
        '#/components/schemas/',
      ),
    ) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    // The document declares the dialect once (jsonSchemaDialect), not per schema.
    delete converted.$schema;
    const { $defs, ...root } = converted;
    Object.assign(schemas, $defs);
    return root;
  }

  /** Path or query parameters, one per property of the route's schema. */
  function parameters(schema: z.ZodMiniType | undefined, location: 'path' | 'query') {
    if (!schema) return [];
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io: 'input',
    }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    // A named schema comes back as a reference to its one definition.
    const object = (converted.$defs ? Object.values(converted.$defs)[0] : converted) as {
      properties: Record<string, JsonSchema>;
      required?: string[];
    };
    return Object.entries(object.properties).map(([name, property]) => {
      const { description, ...propertySchema } = property;
      return {
        name,
        in: location,
        required: location === 'path' || (object.required ?? []).includes(name),
        ...(description ? { description } : {}),
        schema: propertySchema,
      };
    });
  }

  const problem = { 'application/problem+json': { schema: schemaOf(problemResponse, 'output') } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const contract: RouteContract = apiContracts[route.entry];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(contract.responses)) {
      const ok = Number(status) < 400;
      responses[status] = {
        description: response.description,
        headers:
          status === '503'
            ? { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } }
            : undefined,
        content: ok
          ? {
              ...(response.schema
                ? { 'application/json': { schema: schemaOf(response.schema, 'output') } }
                : {}),
              ...(response.contentType === 'text/html' || route.entry === 'unsubscribe'
                ? { 'text/html': { schema: { type: 'string' } } }
                : {}),
            }
          : response.contentType === 'text/html'
            ? // A page for a person (a reconnect link's): its errors are pages too.
              { 'text/html': { schema: { type: 'string' } } }
            : problem,
      };
    }
    if (contract.body) {
      responses['415'] = {
        description: `The body is not ${contract.bodyFormat === 'form' ? 'application/x-www-form-urlencoded' : 'application/json'}`,
        content: problem,
      };
    } else if (route.entry !== 'unsubscribe') {
      // Routes without a body refuse one (anything but nothing or {}), rather than ignore it.
      responses['400'] ??= { description: 'This request takes no body', content: problem };
    }
    const gatewayAnswer = (message: string) => ({
      'application/json': {
        schema: {
          type: 'object',
          required: ['message'],
          properties: { message: { type: 'string', const: message } },
        },
      },
    });
    if (route.auth === 'service') {
      responses['401'] = {
        description: 'No valid bearer token (answered by API Gateway itself)',
        content: gatewayAnswer('Unauthorized'),
      };
      // API Gateway answers a missing scope itself; the handler checks it again, as a problem.
      responses['403'] = {
        description: `The token lacks the scope ${(route.scopes ?? []).join(' ')}: API Gateway's own answer (JSON), or the handler's (a problem)`,
        content: { ...gatewayAnswer('Forbidden'), ...problem },
      };
    }
    if (route.auth === 'jwt') {
      // API Gateway's JWT authorizer answers by itself, in its fixed shape, not as a problem.
      responses['401'] = {
        description: 'No valid bearer token (answered by API Gateway itself)',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['message'],
              properties: { message: { type: 'string', const: 'Unauthorized' } },
            },
          },
        },
      };
      // A valid token whose subject cannot be a user id: refused by the handler, as a problem.
      responses['403'] = {
        description: 'The token names no user: a service token, or a subject longer than a user id',
        content: problem,
      };
    }
    responses['500'] = {
      description: 'An unexpected failure; nothing is disclosed',
      content: problem,
    };
    const operation = {
      operationId: route.entry.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase()),
      summary: route.summary,
      tags: [route.path.startsWith('/unsubscribe') ? 'unsubscribe' : route.path.split('/')[1]],
      security:
        route.auth === 'jwt'
          ? [{ jwt: [] }]
          : route.auth === 'service'
            ? [{ serviceClientCredentials: [...(route.scopes ?? [])] }]
            : [],
      parameters: [...parameters(contract.path, 'path'), ...parameters(contract.query, 'query')],
      requestBody: contract.body
        ? {
            required: true,
            content: {
              [contract.bodyFormat === 'form'
                ? 'application/x-www-form-urlencoded'
                : 'application/json']: { schema: schemaOf(contract.body, 'input') },
            },
          }
        : undefined,
      responses,
    };
    paths[route.path] ??= {};
    const pathItem = paths[route.path] ?? {};
    pathItem[route.method.toLowerCase()] = JSON.parse(JSON.stringify(operation)) as unknown;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'tokenwatch API',
      version: packageJson.version,
      description:
        'Notification preferences, Instagram accounts, token refresh and reconnect, and one-click unsubscribe. Errors are application/problem+json (RFC 9457).',
      // The package is private and the repository carries no licence: nobody is granted one.
      // Said as such, rather than borrowing an open-source licence the code was never given.
      license: { name: 'Proprietary: all rights reserved, no licence granted' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [
      {
        // HTTP API's default endpoint, `$default` stage: the stack's `ApiUrl` output.
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: "The deployed stack (its `ApiUrl` output names the API's id and region)",
        variables: {
          apiId: { default: 'abcdef1234', description: 'The HTTP API id, from `ApiUrl`' },
          region: { default: 'eu-west-1', description: 'The region the stack is deployed to' },
        },
      },
      { url: 'http://localhost:3000', description: 'The local stack (`npm start`; `PORT`)' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "The frontend identity provider's token; the caller is its `sub`.",
        },
        serviceClientCredentials: {
          type: 'oauth2',
          description:
            "The widget service's OAuth 2.0 client-credentials token, with the scope `tokenwatch/service`. The token URL is the stack's `ServiceTokenUrl` output (`https://<domain prefix>.auth.<region>.amazoncognito.com/oauth2/token`), or your identity provider's with `jwtIssuer`. A user's token never passes these routes.",
          flows: {
            clientCredentials: {
              tokenUrl:
                'https://tokenwatch-dev-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token',
              scopes: {
                [serviceScope]: 'Users, Instagram accounts, tokens and developer roles',
              },
            },
          },
        },
      },
    },
  };
}

export const renderOpenApiDocument = () => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(openApiFile, renderOpenApiDocument());
  console.log(`wrote ${openApiFile}`);
}

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { routes } from '../../lib/routes';
import { apiContracts } from '#api/contracts';
import { openApiFile, renderOpenApiDocument } from '../../scripts/openapi';
import { synthesize } from '../support/stack';

type Operation = {
  security: unknown[];
  parameters: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

const committed = readFileSync(openApiFile, 'utf8');
const document = JSON.parse(committed) as Document;
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({
    key: `${method.toUpperCase()} ${path}`,
    operation,
  })),
);

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` generates from the route table and the schemas', () => {
    expect(committed).toBe(renderOpenApiDocument());
    expect(document.openapi).toBe('3.1.0');
  });

  it('describes exactly the routes of lib/routes.ts, which are exactly the routes the stack deploys', () => {
    const documented = operations.map((o) => o.key).sort();
    expect(documented).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    const { template } = synthesize();
    const deployed = Object.values(template.findResources('AWS::ApiGatewayV2::Route'))
      .map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey)
      .sort();
    expect(deployed).toEqual(documented);
    expect(Object.keys(apiContracts).sort()).toEqual(routes.map((r) => r.entry).sort());
  });

  it('asks for a bearer token exactly where the authorizer does', () => {
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation?.security, route.entry).toEqual(
        route.auth === 'jwt'
          ? [{ jwt: [] }]
          : route.auth === 'service'
            ? [{ serviceClientCredentials: ['tokenwatch/service'] }]
            : [],
      );
    }
  });

  it('resolves every schema reference, and answers every error of the handlers as problem+json', () => {
    const references = [...committed.matchAll(/"\$ref": "#\/components\/schemas\/(\w+)"/g)].map(
      (m) => m[1],
    );
    expect(references.length).toBeGreaterThan(10);
    for (const name of references)
      expect(document.components.schemas, name).toHaveProperty(name ?? '');
    for (const { key, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === '401') {
          // Only API Gateway's own JWT refusal is not a problem: HTTP APIs cannot customise it.
          expect(response.content?.['application/json'], `${key} 401`).toBeDefined();
          expect(response.content?.['application/problem+json'], `${key} 401`).toBeUndefined();
        } else if (Number(status) >= 400 && !response.content?.['text/html']) {
          // A reconnect link's pages are for a person: their errors are pages, said so.
          expect(
            response.content?.['application/problem+json']?.schema?.$ref,
            `${key} ${status}`,
          ).toBe('#/components/schemas/Problem');
        }
      }
    }
  });

  it('states the body rules the handlers enforce: both preferences required, nothing else allowed', () => {
    expect(document.components.schemas.NotificationPreferencesInput).toMatchObject({
      type: 'object',
      required: ['ownerExpiredToken', 'developerExpiredToken'],
      additionalProperties: false,
    });
    expect(document.components.schemas.ReconnectInput).toMatchObject({
      required: ['code', 'redirectUri'],
      additionalProperties: false,
    });
    const refresh = document.paths['/instagram-accounts/{accountId}/token/refresh']?.post;
    expect(refresh?.parameters).toEqual([
      expect.objectContaining({ name: 'accountId', in: 'path' }),
    ]);
    expect(document.paths['/unsubscribe']?.post?.parameters).toEqual([
      expect.objectContaining({ name: 'token', in: 'query', required: true }),
    ]);
    expect(document.components.schemas.StormActionInput).toMatchObject({
      type: 'object',
      properties: { action: { type: 'string', enum: ['release', 'discard'] } },
      required: ['action'],
      additionalProperties: false,
    });
  });

  it('documents the storm guard: a public status that tells only when and what, the report and its end for the service', () => {
    const status = document.paths['/status']?.get;
    expect(status?.security).toEqual([]);
    expect(status?.responses['401']).toBeUndefined();
    expect(status?.responses['200']?.content?.['application/json']?.schema?.$ref).toBe(
      '#/components/schemas/Status',
    );
    expect(document.components.schemas.Status).toMatchObject({
      required: ['incident'],
      additionalProperties: false,
      properties: {
        incident: {
          anyOf: [
            { required: ['since', 'summary'], additionalProperties: false },
            { type: 'null' },
          ],
        },
      },
    });

    const report = document.paths['/service/storm']?.get;
    const end = document.paths['/service/storm']?.post;
    for (const operation of [report, end]) {
      expect(operation?.responses['200']?.content?.['application/json']?.schema?.$ref).toBe(
        '#/components/schemas/Storm',
      );
    }
    expect(document.components.schemas.Storm).toMatchObject({
      required: expect.arrayContaining(['status', 'incident', 'held', 'lastEnded']) as unknown,
      additionalProperties: false,
    });
    expect(end?.requestBody?.content['application/json']?.schema.$ref).toBe(
      '#/components/schemas/StormActionInput',
    );
    // Ending a storm when none is on is a conflict, told as a problem; a bad action is a 400.
    expect(Object.keys(end?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '409']),
    );
    expect(end?.responses['409']?.content?.['application/problem+json']?.schema?.$ref).toBe(
      '#/components/schemas/Problem',
    );
  });
});

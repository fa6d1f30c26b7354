/**
 * The middlewares every route shares, in the order middy runs them: the problem+json error
 * handler (attached first, so its onError runs last and sees every failure), then header
 * normalisation, the body size limit, JSON parsing and schema validation.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { STATUS_CODES } from 'node:http';
import type { z } from '#platform/validation';
import { logger } from '#platform/observability';
import {
  HttpProblem,
  internalError,
  problemTypes,
  validationProblem,
  type FieldError,
  type Problem,
} from './problem';
import { html, page, prefersHtml, problemJson, escapeHtml, type HttpResult } from './responses';

type Event = APIGatewayProxyEventV2;

/** The largest request body any route accepts (DESIGN.md: larger is a 400, nothing written). */
export const maxBodyBytes = 16 * 1024;

/** What validation leaves on the event for the handler: parsed, typed, nothing else. */
export interface Validated<Body, Path, Query> {
  body: Body;
  path: Path;
  query: Query;
}
export type ValidatedEvent<E extends Event, Body, Path, Query> = E & {
  validated: Validated<Body, Path, Query>;
};

/** The product's own failures, as problems; undefined for any other error. */
export type ProblemMapper = (error: unknown) => HttpProblem | undefined;

/**
 * Turns any error into an RFC 9457 answer. Only HttpProblems and errors marked `expose` with
 * a 4xx status say what went wrong; everything else is logged here and answered as a plain
 * 500, so no message, stack trace or upstream detail reaches the client.
 */
export function problemErrorHandler(
  options: { htmlForBrowsers?: boolean; problemFor?: ProblemMapper } = {},
): MiddlewareObj<Event, HttpResult> {
  return {
    onError: (request) => {
      const error: (Error & { statusCode?: number; expose?: boolean }) | null = request.error;
      let problem: Problem;
      let headers: Record<string, string> = {};
      const known = error instanceof HttpProblem ? error : options.problemFor?.(error);
      if (known) {
        problem = known.problem;
        headers = known.headers;
      } else if (
        error &&
        typeof error.statusCode === 'number' &&
        error.statusCode >= 400 &&
        error.statusCode < 500 &&
        error.expose !== false
      ) {
        problem = {
          type: problemTypes.blank,
          title: STATUS_CODES[error.statusCode] ?? 'Error',
          status: error.statusCode,
          detail: error.message,
        };
      } else {
        logger.error('Request failed', error ?? 'unknown error');
        problem = internalError();
      }
      const accept = request.event.headers['accept'] ?? request.event.headers['Accept'];
      request.response =
        options.htmlForBrowsers && prefersHtml(accept)
          ? html(
              problem.status,
              page(problem.title, `<p>${escapeHtml(problem.detail ?? problem.title)}</p>`),
              headers,
            )
          : problemJson(problem.status, problem, headers);
    },
  };
}

/**
 * Refuses bodies over the limit before anything parses them, and decodes a base64 body (API
 * Gateway encodes some content types) so the rest of the chain sees text.
 */
export function bodySizeLimit(maxBytes: number): MiddlewareObj<Event> {
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      if (body === undefined) return;
      const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
      if (bytes.length > maxBytes) {
        throw validationProblem([], `The body is larger than ${maxBytes / 1024} KiB.`);
      }
      if (isBase64Encoded) {
        request.event.body = bytes.toString('utf8');
        request.event.isBase64Encoded = false;
      }
    },
  };
}

/**
 * For routes that take no body: anything but nothing (or an empty JSON object, which some
 * clients always send) is a 400, so a field the route would ignore is never silently accepted.
 */
export function noBody(): MiddlewareObj<Event> {
  return {
    before: (request) => {
      const body = request.event.body?.trim() ?? '';
      if (body === '' || /^\{\s*\}$/.test(body)) return;
      throw validationProblem(
        [{ detail: 'This request takes no body.', pointer: '' }],
        'This request takes no body.',
      );
    },
  };
}

const jsonMediaType = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * Parses a JSON body into `event.parsedBody`. Malformed JSON is a 400 like any other bad body
 * (DESIGN.md), not the 415 that @middy/http-json-body-parser answers; a body that is not JSON
 * at all is a 415.
 */
export function jsonBody(): MiddlewareObj<Event & { parsedBody?: unknown }> {
  return {
    before: (request) => {
      const contentType = request.event.headers['content-type'];
      if (contentType === undefined || !jsonMediaType.test(contentType)) {
        throw new HttpProblem({
          type: problemTypes.blank,
          status: 415,
          detail: 'Send the body as application/json.',
        });
      }
      const text = request.event.body;
      if (text === undefined || text.trim() === '') {
        throw validationProblem([{ detail: 'A JSON body is required.', pointer: '#' }]);
      }
      try {
        request.event.parsedBody = JSON.parse(text) as unknown;
      } catch {
        throw validationProblem([{ detail: 'The body is not valid JSON.', pointer: '#' }]);
      }
    },
  };
}

const formMediaType = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * Parses an `application/x-www-form-urlencoded` body (Meta's callbacks post one) into
 * `event.parsedBody`, a plain object of its fields; a field given twice is refused, not guessed.
 * Any other content type is a 415.
 */
export function formBody(): MiddlewareObj<Event & { parsedBody?: unknown }> {
  return {
    before: (request) => {
      const contentType = request.event.headers['content-type'];
      if (contentType === undefined || !formMediaType.test(contentType)) {
        throw new HttpProblem({
          type: problemTypes.blank,
          status: 415,
          detail: 'Send the body as application/x-www-form-urlencoded.',
        });
      }
      const fields: Record<string, string> = {};
      for (const [name, value] of new URLSearchParams(request.event.body ?? '')) {
        if (Object.hasOwn(fields, name)) {
          throw validationProblem([{ detail: 'This field is given twice.', pointer: `#/${name}` }]);
        }
        fields[name] = value;
      }
      request.event.parsedBody = fields;
    },
  };
}

const escapePointer = (segment: PropertyKey) =>
  String(segment).replaceAll('~', '~0').replaceAll('/', '~1');

function fieldErrors(error: z.core.$ZodError, where: 'body' | 'parameter'): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const paths =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => [...issue.path, key])
        : [issue.path];
    const detail =
      issue.code === 'unrecognized_keys' ? 'This field is not allowed.' : issue.message;
    return paths.map((path) =>
      where === 'body'
        ? { detail, pointer: `#${path.map((segment) => `/${escapePointer(segment)}`).join('')}` }
        : { detail, parameter: String(path[0] ?? '') },
    );
  });
}

export interface ValidationSchemas {
  body?: z.ZodMiniType;
  path?: z.ZodMiniType;
  query?: z.ZodMiniType;
}

/** Validates body, path and query against their schemas and reports every failure at once. */
export function validateRequest(
  schemas: ValidationSchemas,
): MiddlewareObj<
  Event & { parsedBody?: unknown; validated?: Validated<unknown, unknown, unknown> }
> {
  return {
    before: (request) => {
      const { event } = request;
      const errors: FieldError[] = [];
      const check = (
        schema: z.ZodMiniType | undefined,
        value: unknown,
        where: 'body' | 'parameter',
      ) => {
        if (!schema) return undefined;
        const result = schema.safeParse(value);
        if (result.success) return result.data;
        errors.push(...fieldErrors(result.error, where));
        return undefined;
      };
      const validated = {
        body: check(schemas.body, event.parsedBody, 'body'),
        path: check(schemas.path, event.pathParameters ?? {}, 'parameter'),
        query: check(schemas.query, event.queryStringParameters ?? {}, 'parameter'),
      };
      if (errors.length > 0) throw validationProblem(errors);
      event.validated = validated;
    },
  };
}

/**
 * RFC 9457 problem details: the one shape every error of the API takes. A handler throws an
 * HttpProblem; the error handler turns it (or anything else) into the response, so no handler
 * builds a 4xx by hand and no internal message or stack trace reaches a client.
 */
import { STATUS_CODES } from 'node:http';

/**
 * Problem types are tag URIs (RFC 4151): stable identifiers a client can switch on, that do not
 * pretend to be documentation pages nobody hosts. Plain HTTP failures use `about:blank`.
 */
export const problemTypes = {
  validation: 'tag:tokenwatch,2026:problem/validation',
  reauthorizationRequired: 'tag:tokenwatch,2026:problem/reauthorization-required',
  instagramUserMismatch: 'tag:tokenwatch,2026:problem/instagram-user-mismatch',
  instagramUnavailable: 'tag:tokenwatch,2026:problem/instagram-unavailable',
  instagramRateLimited: 'tag:tokenwatch,2026:problem/instagram-rate-limited',
  invalidUnsubscribeLink: 'tag:tokenwatch,2026:problem/invalid-unsubscribe-link',
  tooManyReconnectLinks: 'tag:tokenwatch,2026:problem/too-many-reconnect-links',
  noStorm: 'tag:tokenwatch,2026:problem/no-storm',
  blank: 'about:blank',
} as const;

export interface FieldError {
  detail: string;
  /** JSON Pointer into the body, in the RFC 9457 example's `#/field` form. */
  pointer?: string;
  /** A path or query parameter's name. */
  parameter?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  reauthorizeUrl?: string;
}

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(
    problem: Omit<Problem, 'title'> & { title?: string },
    headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title ?? STATUS_CODES[problem.status]);
    this.problem = { ...problem, title: problem.title ?? STATUS_CODES[problem.status] ?? 'Error' };
    this.headers = headers;
  }

  get status(): number {
    return this.problem.status;
  }
}

export const validationProblem = (errors: FieldError[], detail = 'The request is not valid.') =>
  new HttpProblem({
    type: problemTypes.validation,
    title: 'Your request is not valid',
    status: 400,
    detail,
    errors,
  });

/** The same answer for "no such account" and "not yours": existence is not disclosed. */
export const accountNotFound = () =>
  new HttpProblem({
    type: problemTypes.blank,
    status: 404,
    detail: 'There is no Instagram account with this id that you own or develop for.',
  });

export const unauthorized = (detail: string) =>
  new HttpProblem(
    { type: problemTypes.blank, status: 401, detail },
    { 'www-authenticate': 'Bearer error="invalid_token"' },
  );

export const internalError = (): Problem => ({
  type: problemTypes.blank,
  title: 'Internal Server Error',
  status: 500,
  detail: 'Something went wrong on our side. It has been logged; please try again later.',
});

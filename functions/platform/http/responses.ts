/**
 * Building API Gateway (payload 2.0) results. Every answer is personal or one-off, so none may
 * be cached; HTML answers also forbid scripts, framing and leaking their URL (which carries an
 * unsubscribe token) through the Referer header.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
};

const commonHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { ...commonHeaders, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** 204: done, nothing to say (an idempotent PUT or DELETE). */
export function noContent(): HttpResult {
  return { statusCode: 204, headers: { ...commonHeaders }, body: '' };
}

export function problemJson(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return json(statusCode, body, { ...headers, 'content-type': 'application/problem+json' });
}

export function html(
  statusCode: number,
  body: string,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: {
      ...commonHeaders,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'referrer-policy': 'no-referrer',
      ...headers,
    },
    body,
  };
}

const htmlEscapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);

/** A minimal page: the unsubscribe, data deletion and reconnect link pages. */
export function page(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button,a.button{font:inherit;padding:.5rem 1rem;cursor:pointer}a.button{display:inline-block;background:#1f5fbf;color:#fff;border-radius:.3rem;text-decoration:none}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${bodyHtml}
</body>
</html>
`;
}

/** True when the client asked for HTML before JSON: a browser, not a mail client or a script. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0]?.trim().toLowerCase());
  const htmlAt = types.indexOf('text/html');
  const jsonAt = types.findIndex(
    (type) => type === 'application/json' || type === 'application/problem+json',
  );
  return htmlAt !== -1 && (jsonAt === -1 || htmlAt < jsonAt);
}

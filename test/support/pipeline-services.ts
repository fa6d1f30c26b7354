/**
 * Helpers for the notification pipeline tests: reading the SES emulator's store, a tiny proxy
 * in front of it that answers some sends with SES's throttling error (the emulator itself never
 * throttles), a Secrets Manager stand-in for the unsubscribe key, and people and accounts with
 * addresses unique to each test (the emulator's store is shared by every test file).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type TableStore as TokenwatchStore } from '../../local/table-store';
import { type NotificationPreferences } from '#notifications/preferences';

export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
}

export const sesEndpoint = () => {
  const endpoint = process.env.AWS_ENDPOINT_URL_SESV2;
  if (!endpoint) throw new Error('AWS_ENDPOINT_URL_SESV2 is not set');
  return endpoint;
};

/** Every email the emulator holds for any of these addresses, in the order they were sent. */
export async function emailsTo(addresses: readonly string[]): Promise<StoredEmail[]> {
  const response = await fetch(`${sesEndpoint()}/store`);
  const store = (await response.json()) as { emails: StoredEmail[] };
  return store.emails.filter((email) =>
    email.destination.to.some((address) => addresses.includes(address)),
  );
}

export const headerOf = (email: StoredEmail, name: string) =>
  email.headers?.find((header) => header.name.toLowerCase() === name.toLowerCase())?.value;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => {
      resolve();
    });
  });

/**
 * Forwards to the SES emulator, except the sends `throttle(n)` picks (n counts SendEmail calls
 * from 1), which get SES's real throttling answer: HTTP 429 TooManyRequestsException.
 */
export async function startThrottlingSesProxy(throttle: (sendNumber: number) => boolean) {
  const target = new URL(sesEndpoint());
  let sends = 0;
  const throttled: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url?.endsWith('/outbound-emails')) {
        sends += 1;
        if (throttle(sends)) {
          throttled.push(sends);
          res.writeHead(429, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'TooManyRequestsException',
          });
          res.end(JSON.stringify({ message: 'Maximum sending rate exceeded.' }));
          return;
        }
      }
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.end(body);
    });
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    /** the send numbers that were answered with a throttle */
    throttled,
    sends: () => sends,
    stop: () => close(server),
  };
}

/** Answers GetSecretValue (the JSON 1.1 protocol) for the secrets it was given. */
export async function startSecretsStandIn(secrets: Record<string, string>) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as {
        SecretId?: string;
      };
      const value = SecretId === undefined ? undefined : secrets[SecretId];
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'secretsmanager.GetSecretValue' || value === undefined) {
        res.writeHead(400);
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'not found' }));
        return;
      }
      res.end(
        JSON.stringify({ ARN: `arn:local:${SecretId}`, Name: SecretId, SecretString: value }),
      );
    });
  });
  const endpoint = await listen(server);
  return { endpoint, stop: () => close(server) };
}

export interface Person {
  userId: string;
  email: string;
  name: string;
}

/** A user with a profile whose address no other test uses. */
export async function createPerson(
  store: TokenwatchStore,
  label: string,
  preferences?: NotificationPreferences,
  now = new Date(),
): Promise<Person> {
  const unique = randomUUID().slice(0, 8);
  const person = {
    userId: `u-${label}-${unique}`,
    email: `${label}-${unique}@example.com`,
    name: label.charAt(0).toUpperCase() + label.slice(1),
  };
  await store.putProfile(person);
  if (preferences) await store.putPreferences(person.userId, preferences, now);
  return person;
}

export const uniqueAccountId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** The value, or a test failure naming what was missing. */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}`);
  return value;
}

/** The URL inside a `List-Unsubscribe: <https://…>` header. */
export function listUnsubscribeUrl(email: StoredEmail): URL {
  const header = present(headerOf(email, 'List-Unsubscribe'), 'a List-Unsubscribe header');
  const match = present(/^<(https:\/\/[^>]+)>$/.exec(header)?.[1], 'one https link in <…>');
  return new URL(match);
}

/**
 * The local system as `npm start` runs it (in process, so its logs can be read): what its HTTP
 * server makes of requests no browser sends, and who its log lines say spoke.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from 'node:net';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';

let system: LocalSystem;
let apiPort: number;

beforeAll(async () => {
  apiPort = await freePort();
  system = await startLocalSystem({
    apiPort,
    sesPort: await freePort(),
    checkIntervalMs: 0,
    runCheckAtStart: false,
  });
}, 60_000);
afterAll(async () => {
  await system.stop();
});

/** Sends `head` as it is, byte for byte, and reads the answer until the server closes. */
function rawRequest(head: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(apiPort, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const [headers = '', body = ''] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]),
        contentType: /^content-type: *(.*)$/im.exec(headers)?.[1] ?? '',
        // The body may come in chunks: the JSON is what lies between its braces.
        body: body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1),
      });
    });
    socket.write(`${head}Connection: close\r\n\r\n`);
  });
}

describe('a request whose Host header is no host', () => {
  it.each([
    ['a space in the name', 'GET /me/instagram-accounts HTTP/1.1\r\nHost: exa mple\r\n'],
    ['an unclosed IPv6 bracket', 'GET /me/instagram-accounts HTTP/1.1\r\nHost: [::1\r\n'],
    ['a local endpoint', 'GET /_local/token?sub=u HTTP/1.1\r\nHost: exa mple\r\n'],
    ['the settings page', 'GET / HTTP/1.1\r\nHost: [::1\r\n'],
  ])('is a 400 problem, like any bad request: %s', async (_name, head) => {
    const answer = await rawRequest(head);
    expect(answer.status).toBe(400);
    expect(answer.contentType).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The Host header or the request target is not valid.',
    });
  });

  it('while a good one reaches the routes', async () => {
    const answer = await rawRequest(
      `GET /me/instagram-accounts HTTP/1.1\r\nHost: localhost:${apiPort}\r\n`,
    );
    expect(answer.status).toBe(401);
  });
});

/**
 * Powertools' lines, parsed. With POWERTOOLS_DEV (as the local system sets it) Powertools writes
 * through the global console, so that is where they are read.
 */
function captureLogLines(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const method of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    vi.spyOn(console, method).mockImplementation((first: unknown) => {
      if (typeof first !== 'string' || !first.startsWith('{')) return;
      try {
        lines.push(JSON.parse(first) as Record<string, unknown>);
      } catch {
        // not a log entry
      }
    });
  }
  return lines;
}

const refreshAsAgency = async () => {
  const token = await system.tokenFor('user-agency-dev');
  // @ironhouse.gym, which the demo agency develops for (local/demo-data.ts).
  return fetch(`${system.urls.api}/instagram-accounts/17841400000000003/token/refresh`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
};

const speakers = (lines: Record<string, unknown>[], message: string) => [
  ...new Set(lines.filter((line) => line.message === message).map((line) => line.function_name)),
];

describe('who a log line says spoke', () => {
  it('the check and the notifier name themselves, even after a route ran', async () => {
    const lines = captureLogLines();
    expect((await refreshAsAgency()).status).toBe(200);
    expect(speakers(lines, 'Token replaced')).toEqual(['refresh-instagram-token']);

    // The demo data has two expired tokens: the check publishes them, the notifier emails.
    expect((await system.runCheck()).emailsSent).toBe(2);
    expect(speakers(lines, 'Expiry check finished')).toEqual(['check-expired-tokens']);
    expect(speakers(lines, 'Email sent')).toEqual(['notify-expired-token']);
    expect(speakers(lines, 'Notification batch finished')).toEqual(['notify-expired-token']);
  });

  it('each of several functions running at once names itself', async () => {
    const lines = captureLogLines();
    const monthAgo = new Date(Date.now() - 30 * 86_400_000);
    // A month left: the automatic refresh leaves them alone, so only the owner refreshes them.
    const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
    // One token for the check to find, and five for the gym's owner to refresh meanwhile.
    await system.store.putAccount(
      {
        accountId: '17841400000000999',
        ownerUserId: 'user-gym',
        username: 'expired.again',
        accessToken: 'IGQ-local-system-expired',
        expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
      },
      // Stored two hours ago, so whatever it is due for falls inside the check's look-back at
      // any time of day (stored a month ago, its week warning fell a day outside it within an
      // hour after midnight UTC, and the check found nothing).
      new Date(Date.now() - 2 * 3_600_000),
    );
    const refreshable = Array.from({ length: 5 }, (_, i) => `1784140000000100${i}`);
    for (const accountId of refreshable) {
      const accessToken = `IGQ-local-system-${accountId}`;
      await system.store.putAccount(
        {
          accountId,
          ownerUserId: 'user-gym',
          username: `busy.${accountId}`,
          accessToken,
          expiresAt: inAMonth,
        },
        monthAgo,
      );
      system.instagram.addToken(accessToken, { userId: accountId, expiresAt: inAMonth });
    }
    const token = await system.tokenFor('user-gym');
    const [summary, ...refreshes] = await Promise.all([
      system.runCheck(),
      ...refreshable.map((accountId) =>
        fetch(`${system.urls.api}/instagram-accounts/${accountId}/token/refresh`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        }),
      ),
    ]);
    expect(summary.queue.delivered).toBeGreaterThan(0);
    expect(refreshes.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(speakers(lines, 'Expiry check finished')).toEqual(['check-expired-tokens']);
    expect(speakers(lines, 'Notification batch finished')).toEqual(['notify-expired-token']);
    expect(speakers(lines, 'Token replaced')).toEqual(['refresh-instagram-token']);
  });
});

/**
 * `npm start` as a user runs it: a child process, driven only through its HTTP endpoints and
 * the SES emulator's store, then stopped with Ctrl-C (SIGINT) and checked for leftovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort, portIsFree } from '../support/services';
import { accepts, externalAddresses, isLoopback, listeningAddresses } from '../support/listening';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface StoredEmail {
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
}

function startNpmStart(env: Record<string, string>) {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close' waits for every process holding the output pipes (npm, tsx, node), not just npm.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    output: () => output,
    async waitFor(text: string | RegExp, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (typeof text === 'string' ? output.includes(text) : text.test(output)) return;
        if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`npm start never printed ${String(text)}:\n${output}`);
    },
  };
}

/** Ctrl-C in a terminal signals the whole foreground process group. */
function pressCtrlC(child: ChildProcess) {
  if (child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
}

describe('npm start', () => {
  let apiPort: number;
  let sesPort: number;
  let stack: ReturnType<typeof startNpmStart>;
  const api = (path: string) => `http://127.0.0.1:${apiPort}${path}`;
  const inbox = async () =>
    (
      (await (await fetch(`http://127.0.0.1:${sesPort}/store`)).json()) as {
        emails: StoredEmail[];
      }
    ).emails;

  beforeAll(async () => {
    apiPort = await freePort();
    sesPort = await freePort();
    stack = startNpmStart({
      PORT: String(apiPort),
      SES_PORT: String(sesPort),
      CHECK_INTERVAL_SECONDS: '0',
    });
    await stack.waitFor('tokenwatch is running');
  }, 120_000);

  afterAll(async () => {
    if (stack.child.exitCode === null && stack.child.signalCode === null) {
      pressCtrlC(stack.child);
      await stack.exited;
    }
  });

  it('prints one short block of URLs', () => {
    expect(stack.output()).toContain(`Settings page   http://localhost:${apiPort}/`);
    expect(stack.output()).toContain(`Email inbox     http://localhost:${sesPort}`);
  });

  it('has already told the demo client and the opted-in developer, and nobody else', async () => {
    const emails = await inbox();
    const recipients = emails.flatMap((email) => email.destination.to).sort();
    expect(recipients).toEqual(['dev@pixel-agency.example', 'owner@sunrise-bakery.example']);
    const developerEmail = emails.find((e) =>
      e.destination.to.includes('dev@pixel-agency.example'),
    );
    expect(developerEmail?.body.text).toContain('@sunrise.bakery');
  });

  it('seeds through /_local/seed, runs the check through /_local/run-check, and sends each email once', async () => {
    const seeded = await fetch(api('/_local/seed'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        users: [
          { userId: 'e2e-owner', email: 'owner@e2e.example', name: 'E2E Owner' },
          { userId: 'e2e-dev', email: 'dev@e2e.example', name: 'E2E Developer' },
        ],
        instagramAccounts: [
          {
            accountId: 'e2e-account',
            ownerUserId: 'e2e-owner',
            username: 'e2e.shop',
            accessToken: 'IGQ-e2e-canary-token',
            expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
          },
        ],
        developerRoles: [{ accountId: 'e2e-account', userId: 'e2e-dev' }],
        preferences: [{ userId: 'e2e-dev', ownerExpiredToken: true, developerExpiredToken: true }],
      }),
    });
    expect(seeded.status).toBe(200);

    const first = (await (await fetch(api('/_local/run-check'), { method: 'POST' })).json()) as {
      emailsSent: number;
    };
    expect(first.emailsSent).toBe(2);
    const second = (await (await fetch(api('/_local/run-check'), { method: 'POST' })).json()) as {
      emailsSent: number;
    };
    expect(second.emailsSent).toBe(0);

    const emails = (await inbox()).filter((e) =>
      e.destination.to.some((to) => to.endsWith('@e2e.example')),
    );
    expect(emails.map((e) => e.destination.to[0]).sort()).toEqual([
      'dev@e2e.example',
      'owner@e2e.example',
    ]);
    expect(JSON.stringify(emails)).not.toContain('IGQ-e2e-canary-token');
  });

  it('feeds an account through the service API (/_local/service-token); the check then emails its owner and the opted-in developer', async () => {
    const { token } = (await (await fetch(api('/_local/service-token'))).json()) as {
      token: string;
    };
    const send = (method: string, path: string, body?: unknown) =>
      fetch(api(path), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const statuses = [
      (await send('PUT', '/service/users/svc-owner', { email: 'owner@svc.example', name: 'O' }))
        .status,
      (await send('PUT', '/service/users/svc-dev', { email: 'dev@svc.example', name: 'D' })).status,
      (await send('PUT', '/service/users/svc-quiet', { email: 'quiet@svc.example', name: 'Q' }))
        .status,
      (
        await send('PUT', '/service/instagram-accounts/svc-account', {
          ownerUserId: 'svc-owner',
          username: 'svc.shop',
          accessToken: 'IGQ-svc-canary-token',
          expiresAt: new Date(Date.now() - 3_600_000).toISOString(),
        })
      ).status,
      (await send('PUT', '/service/instagram-accounts/svc-account/developers/svc-dev')).status,
      (await send('PUT', '/service/instagram-accounts/svc-account/developers/svc-quiet')).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 204, 204]);
    // The developer opts in; the quiet one keeps the default (off).
    const devToken = (
      (await (await fetch(api('/_local/token?sub=svc-dev'))).json()) as { token: string }
    ).token;
    const opted = await fetch(api('/me/notification-preferences'), {
      method: 'PUT',
      headers: { authorization: `Bearer ${devToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ownerExpiredToken: true, developerExpiredToken: true }),
    });
    expect(opted.status).toBe(200);

    await fetch(api('/_local/run-check'), { method: 'POST' });
    const emails = (await inbox()).filter((e) =>
      e.destination.to.some((to) => to.endsWith('@svc.example')),
    );
    expect(emails.map((e) => e.destination.to[0]).sort()).toEqual([
      'dev@svc.example',
      'owner@svc.example',
    ]);
    expect(JSON.stringify(emails)).not.toContain('IGQ-svc-canary-token');
    const current = (await (
      await send('GET', '/service/instagram-accounts/svc-account/token')
    ).json()) as { accessToken: string; tokenStatus: string };
    expect(current).toMatchObject({ accessToken: 'IGQ-svc-canary-token', tokenStatus: 'expired' });
    // A user's token never passes a service route.
    expect(
      (
        await fetch(api('/service/instagram-accounts/svc-account/token'), {
          headers: { authorization: `Bearer ${devToken}` },
        })
      ).status,
    ).toBe(401);
  });

  it('refuses a bad seed document with a clear error and writes nothing', async () => {
    const response = await fetch(api('/_local/seed'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        users: [{ userId: 'half-written', email: 'ok@e2e.example', name: 'Half' }],
        instagramAccounts: [{ accountId: 'bad account id!' }],
      }),
    });
    expect(response.status).toBe(400);
    const token = (
      (await (await fetch(api('/_local/token?sub=half-written'))).json()) as { token: string }
    ).token;
    const accounts = await fetch(api('/me/instagram-accounts'), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await accounts.json()).toEqual({ accounts: [] });
  });

  it('serves the HTTP API with tokens from /_local/token, and refuses a request without one', async () => {
    const token = (
      (await (await fetch(api('/_local/token?sub=user-agency-dev'))).json()) as { token: string }
    ).token;
    const response = await fetch(api('/me/instagram-accounts'), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { accounts: { username: string; relation: string }[] };
    expect(body.accounts.map((a) => [a.username, a.relation])).toEqual([
      ['ironhouse.gym', 'developer'],
      ['sunrise.bakery', 'developer'],
    ]);
    expect((await fetch(api('/me/instagram-accounts'))).status).toBe(401);
  });

  it("signs Meta's callbacks with the app from /_local/instagram/app; another secret is a 400", async () => {
    const { appSecret } = (await (await fetch(api('/_local/instagram/app'))).json()) as {
      appId: string;
      appSecret: string;
    };
    const sign = (secret: string) => {
      const body = Buffer.from(
        JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: 1, user_id: '17841400000000404' }),
      ).toString('base64url');
      const signature = createHmac('sha256', secret).update(body).digest('base64url');
      return new URLSearchParams({ signed_request: `${signature}.${body}` }).toString();
    };
    const post = (form: string) =>
      fetch(api('/instagram/deauthorize'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
    expect((await post(sign(appSecret))).status).toBe(200);
    expect((await post(sign('not-the-app-secret'))).status).toBe(400);
  });

  it('runs DynamoDB Local on loopback only: nobody else on the network reaches its table', async () => {
    const dynamoPort = Number(
      /DynamoDB Local is up at http:\/\/127\.0\.0\.1:(\d+)/.exec(stack.output())?.[1],
    );
    const listening = listeningAddresses(dynamoPort);
    if (listening !== undefined) {
      expect(listening.length).toBeGreaterThan(0);
      expect(listening.filter((address) => !isLoopback(address))).toEqual([]);
    }
    for (const address of externalAddresses()) {
      expect(await accepts(address, dynamoPort), address).toBe(false);
    }
  });

  it('stops everything on Ctrl-C: no Java process, no port left bound', async () => {
    const dynamoPort = Number(
      /DynamoDB Local is up at http:\/\/127\.0\.0\.1:(\d+)/.exec(stack.output())?.[1],
    );
    expect(dynamoPort).toBeGreaterThan(0);
    pressCtrlC(stack.child);
    // npm re-raises the SIGINT on itself once its script has exited, as in a terminal.
    const { code, signal } = await stack.exited;
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(stack.output()).toContain('Nothing is left running');
    expect(await portIsFree(apiPort)).toBe(true);
    expect(await portIsFree(sesPort)).toBe(true);
    expect(await portIsFree(dynamoPort)).toBe(true);
  });
});

describe('npm start on a port that is taken', () => {
  it('says so clearly and exits', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const stack = startNpmStart({ PORT: String(port), SES_PORT: String(await freePort()) });
      expect((await stack.exited).code).toBe(1);
      expect(stack.output()).toContain(`Port ${port} (the HTTP API) is already in use`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);
});

/**
 * `npm run scenario -- digest` / `npm run scenario -- storm`: with `npm start` running in another
 * terminal, plays one of #16's situations against the local stack through its public endpoints
 * only (`/_local/seed`, `/_local/instagram/outcomes`, `/_local/run-check`, `/status`), so a
 * newcomer can watch it happen in the inbox and on the settings page:
 *
 * - digest: an agency developer with five clients whose tokens all expired: one email now, and,
 *   with a run-check an hour later, one digest naming the other four.
 * - storm: thirty clients' tokens due for refresh, every one of them refused by Instagram at
 *   once: no customer email, an incident on /status, the refresh paused, until
 *   `POST /service/storm {"action": "release" | "discard"}` ends it.
 */
import { randomUUID } from 'node:crypto';

const api = (process.env.API_URL ?? `http://localhost:${process.env.PORT ?? '3000'}`).replace(
  /\/+$/,
  '',
);
const DAY = 86_400_000;

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${String(response.status)} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** A developer with `count` clients, each account owned by its own client. */
function agency(label: string, count: number, account: (index: number) => object) {
  const run = randomUUID().slice(0, 6);
  const developer = {
    userId: `dev-${label}-${run}`,
    email: `dev-${label}-${run}@agency.example`,
    name: `Agency developer (${label})`,
  };
  const clients = Array.from({ length: count }, (_, index) => ({
    userId: `client-${label}-${run}-${String(index)}`,
    email: `client-${String(index)}-${run}@${label}.example`,
    name: `Client ${String(index + 1)}`,
  }));
  const accounts = clients.map((client, index) => ({
    accountId: `${label}-${run}-${String(index + 1)}`,
    ownerUserId: client.userId,
    username: `${label}.${run}.client${String(index + 1)}`,
    accessToken: `IGQ-${label}-${run}-${String(index)}`,
    ...account(index),
  }));
  return {
    developer,
    accounts,
    seed: {
      users: [developer, ...clients],
      instagramAccounts: accounts,
      developerRoles: accounts.map(({ accountId }) => ({ accountId, userId: developer.userId })),
      preferences: [
        { userId: developer.userId, ownerExpiredToken: true, developerExpiredToken: true },
      ],
    },
  };
}

async function digest() {
  const now = Date.now();
  const { developer, seed } = agency('digest', 5, () => ({
    expiresAt: new Date(now - DAY).toISOString(),
    issuedAt: new Date(now - 61 * DAY).toISOString(),
  }));
  await call('POST', '/_local/seed', seed);
  console.log(`Seeded ${developer.email} with 5 clients whose tokens expired yesterday.`);
  const first = (await call('POST', '/_local/run-check')) as { emailsSent: number };
  console.log(
    `Run-check now: ${String(first.emailsSent)} emails (one per client, one to the developer).`,
  );
  const later = new Date(now + 61 * 60_000).toISOString();
  const second = (await call('POST', '/_local/run-check', { now: later })) as {
    emailsSent: number;
  };
  console.log(
    `Run-check as of ${later}: ${String(second.emailsSent)} email: the developer's digest of the other four.`,
  );
  console.log('Open the inbox to read both.');
}

async function storm() {
  const now = Date.now();
  const { seed, accounts } = agency('storm', 30, () => ({
    // Due for its automatic refresh: ten days left, issued fifty days ago.
    expiresAt: new Date(now + 10 * DAY).toISOString(),
    issuedAt: new Date(now - 50 * DAY).toISOString(),
  }));
  await call('POST', '/_local/seed', seed);
  for (const { accountId } of accounts) {
    await call('POST', '/_local/instagram/outcomes', { accountId, refresh: 'app-removed' });
  }
  console.log('Seeded 30 accounts due for refresh; Instagram will refuse every one of them.');
  const run = (await call('POST', '/_local/run-check')) as { emailsSent: number };
  console.log(`Run-check: ${String(run.emailsSent)} customer emails (held by the storm guard).`);
  console.log('GET /status:', JSON.stringify(await call('GET', '/status')));
  console.log(
    'End it with the service token (GET /_local/service-token): ' +
      `curl -X POST ${api}/service/storm -H "authorization: Bearer <token>" ` +
      `-H 'content-type: application/json' -d '{"action":"release"}'` +
      ', then POST /_local/run-check sends each held owner one email.',
  );
}

const scenario = process.argv[2];
if (scenario === 'digest') await digest();
else if (scenario === 'storm') await storm();
else {
  console.error('Usage: npm run scenario -- digest | storm   (with npm start running)');
  process.exitCode = 2;
}

/**
 * A reconnect link from end to end, in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): a developer whose client's token stopped working makes a link on the
 * settings page and copies it; the client, in a browser of their own with no login, opens it,
 * goes on to Instagram (the local stand-in), allows access as the account's own Instagram user
 * and lands on the success page; the developer's settings page then shows the token active and
 * the link used. Screenshots of the client's two pages land in docs/images/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';
import { describeInBrowser, launchChromium, screenshotFolder } from '../support/chromium';

const images = screenshotFolder;

/** @ironhouse.gym, owned by user-gym; user-agency-dev develops for it (local/demo-data.ts). */
const gym = '17841400000000003';

describeInBrowser('a reconnect link, in two browsers', () => {
  let system: LocalSystem;
  let browser: Browser;
  let developer: BrowserContext;
  let client: BrowserContext;
  let page: Page;
  let linkUrl = '';

  beforeAll(async () => {
    system = await startLocalSystem({
      apiPort: await freePort(),
      sesPort: await freePort(),
      checkIntervalMs: 0,
      logLevel: 'WARN',
    });
    browser = await launchChromium();
    developer = await browser.newContext({ viewport: { width: 1100, height: 820 } });
    await developer.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(system.urls.settings).origin,
    });
    page = await developer.newPage();
    // The client: a browser of their own, never signed in to tokenwatch.
    client = await browser.newContext({ viewport: { width: 760, height: 560 } });
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await system.stop();
  });

  const section = () => page.locator(`#reconnect-link-${gym}`);

  it("opens the account's link section from the developer email's address", async () => {
    // Instagram disconnected @ironhouse.gym after a password change: its refreshes now fail.
    const outcome = await fetch(`${system.urls.api}/_local/instagram/outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: gym, refresh: 'password-changed' }),
    });
    expect(outcome.status).toBe(200);

    await page.goto(`${system.urls.api}/instagram-accounts?account=${gym}#reconnect-link`);
    await page.selectOption('#user', 'user-agency-dev');
    await page.waitForSelector('body[data-ready="true"]');
    const row = page.locator(`tr[data-account-id="${gym}"]`);
    await row.getByRole('button', { name: 'Refresh token' }).click();
    await page.locator('#accounts-message').getByRole('link').waitFor();
    expect((await system.store.getAccount(gym))?.tokenStatus).toBe('invalid');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await row.locator('.status').textContent()).toBe('invalid');
    expect(await section().getAttribute('open')).not.toBeNull();
    expect(await section().isVisible()).toBe(true);
    expect(await section().textContent()).toMatch(
      /Send this link to your client: they reconnect @ironhouse\.gym themselves on Instagram; no password changes hands; it works once, for 72 hours/,
    );
    // only the account from the address is opened
    expect(await page.locator('#reconnect-link-17841400000000001').getAttribute('open')).toBeNull();
  });

  it('creates a link, shows its URL once and copies it', async () => {
    await section().getByRole('button', { name: 'Create a reconnect link' }).click();
    await section().getByText('Link created for @ironhouse.gym').waitFor();
    const shown = await section().getByLabel('Reconnect link for @ironhouse.gym').inputValue();
    expect(shown).toMatch(new RegExp(`/reconnect/${gym}/[A-Za-z0-9_-]{22}\\?key=`));

    await section().getByRole('button', { name: 'Copy' }).click();
    await section().getByText('Copied.').waitFor();
    linkUrl = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(linkUrl).toBe(shown);

    const line = section().locator('tbody tr');
    await expect.poll(() => line.count()).toBe(1);
    expect(await line.locator('.status').textContent()).toBe('active');
    expect(await line.locator('.by').textContent()).toBe('you');
    expect(await line.getByRole('button', { name: 'Revoke' }).isVisible()).toBe(true);

    mkdirSync(images, { recursive: true });
    const account = page.locator(`tr[data-account-id="${gym}"]`);
    const box = await account.boundingBox();
    const links = await section().boundingBox();
    if (box && links)
      await page.screenshot({
        path: `${images}reconnect-link-settings.png`,
        clip: { x: 0, y: box.y - 8, width: 1100, height: links.y + links.height - box.y + 16 },
      });
  });

  it('lets the client reconnect the account on Instagram, with no login here', async () => {
    const view = await client.newPage();
    await view.goto(linkUrl);
    expect(await view.locator('h1').textContent()).toBe('Reconnect ironhouse.gym on Instagram');
    const words = await view.textContent('body');
    expect(words).toContain('Pixel Agency (developer) asks you to reconnect');
    expect(words).toContain('@ironhouse.gym');
    await view.screenshot({ path: `${images}reconnect-link-page.png`, fullPage: true });

    await view.getByRole('link', { name: 'Continue to Instagram' }).click();
    // Instagram's consent page (the local stand-in): log in as the account's own Instagram user.
    await view.getByLabel('Log in as Instagram user id').fill(gym);
    await view.getByRole('button', { name: 'Allow' }).click();
    await view.locator('h1', { hasText: 'ironhouse.gym is reconnected' }).waitFor();
    expect(new URL(view.url()).pathname).toBe('/reconnect/callback');
    await view.screenshot({ path: `${images}reconnect-link-done.png`, fullPage: true });

    const account = await system.store.getAccount(gym);
    expect(account?.tokenStatus).toBe('active');
    expect(account?.generation).toBe(2);
    await view.close();
  });

  it('shows the developer the token active again and the link used', async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    const row = page.locator(`tr[data-account-id="${gym}"]`);
    expect(await row.locator('.status').textContent()).toBe('active');
    expect(await row.locator('.cause').textContent()).toBe('');
    const line = section().locator('tbody tr');
    await expect.poll(() => line.locator('.status').textContent()).toBe('used');
    expect(await line.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    // the secret is not on the page any more: it was in the create answer only
    expect(await page.content()).not.toContain(new URL(linkUrl).searchParams.get('key'));
  });

  it('says "used" to whoever opens the same link again, and changes nothing', async () => {
    const view = await client.newPage();
    const response = await view.goto(linkUrl);
    expect(response?.status()).toBe(410);
    expect(await view.locator('h1').textContent()).toBe('This link was already used');
    expect(await view.textContent('body')).toMatch(/ask Pixel Agency \(developer\) for a new link/);
    expect((await system.store.getAccount(gym))?.generation).toBe(2);
    await view.close();
  });

  it('revokes an active link, which then no longer works', async () => {
    await section().getByRole('button', { name: 'Create a reconnect link' }).click();
    await section().getByText('Link created for @ironhouse.gym').waitFor();
    const second = await section().getByLabel('Reconnect link for @ironhouse.gym').inputValue();
    const active = section().locator('tbody tr', { hasText: 'active' });
    await active.getByRole('button', { name: 'Revoke' }).click();
    await section().getByText('Revoked: that link no longer works.').waitFor();
    await expect
      .poll(() => section().locator('tbody .status').allTextContents())
      .toEqual(expect.arrayContaining(['revoked', 'used']));

    const view = await client.newPage();
    await view.goto(second);
    expect(await view.locator('h1').textContent()).toBe('This link no longer works');
    await view.close();
  });
});

/**
 * The local settings page in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): a person ticks the developer checkbox, saves, reloads and sees it kept;
 * presses Refresh token and sees the new expiry. Screenshots land in docs/images/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import {
  preferenceCatalogue,
  preferenceNames,
  type NotificationPreferences,
} from '../../functions/notifications/preferences';
import { startLocalSystem, type LocalSystem } from '../../local/system';
import { freePort } from '../support/services';
import { describeInBrowser, launchChromium, screenshotFolder } from '../support/chromium';

const images = screenshotFolder;

describeInBrowser('the settings page, in a browser', () => {
  let system: LocalSystem;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    system = await startLocalSystem({
      apiPort: await freePort(),
      sesPort: await freePort(),
      checkIntervalMs: 0,
      logLevel: 'WARN',
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
  }, 120_000);

  afterAll(async () => {
    await browser.close();
    await system.stop();
  });

  async function signInAs(userId: string) {
    await page.goto(system.urls.settings);
    await page.selectOption('#user', userId);
    await page.waitForSelector('body[data-ready="true"]');
  }

  it('keeps the developer checkbox ticked after Update preferences and a reload', async () => {
    await signInAs('user-freelancer-dev');
    const developerBox = page.getByLabel('Expired token notifications for the developer');
    await expect.poll(() => developerBox.isChecked()).toBe(false);
    await developerBox.check();
    await page.getByRole('button', { name: 'Update preferences' }).click();
    await page.getByText('Your preferences were saved.').waitFor();

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.getByLabel('Expired token notifications for the developer').isChecked()).toBe(
      true,
    );
    expect(
      await page
        .getByLabel('Expired token notifications for your Instagram accounts', { exact: true })
        .isChecked(),
    ).toBe(true);
    expect((await system.store.getPreferences('user-freelancer-dev')).developerExpiredToken).toBe(
      true,
    );
  });

  it('shows one checkbox per catalogue entry, in its order and with its label, and saves them all', async () => {
    await signInAs('user-gym');
    expect(await page.locator('#updated-at').textContent()).toMatch(/defaults/);
    const boxes = page.locator('#notifications input[type="checkbox"]');
    const ids = await Promise.all((await boxes.all()).map((box) => box.getAttribute('id')));
    expect(ids).toEqual(preferenceNames);
    for (const name of preferenceNames) {
      const box = page.getByLabel(preferenceCatalogue[name].label, { exact: true });
      expect(await box.getAttribute('id')).toBe(name);
      // a user who never chose sees the catalogue's defaults
      expect(await box.isChecked()).toBe(preferenceCatalogue[name].default);
    }

    // turn every setting away from its default, so each one in the request is the page's doing
    const chosen = Object.fromEntries(
      preferenceNames.map((name) => [name, !preferenceCatalogue[name].default]),
    ) as NotificationPreferences;
    for (const name of preferenceNames) await page.locator(`#${name}`).setChecked(chosen[name]);
    const put = page.waitForRequest(
      (request) =>
        request.method() === 'PUT' && request.url().endsWith('/me/notification-preferences'),
    );
    await page.getByRole('button', { name: 'Update preferences' }).click();
    expect((await put).postDataJSON()).toEqual(chosen);
    await page.getByText('Your preferences were saved.').waitFor();
    expect(await system.store.getPreferences('user-gym')).toMatchObject(chosen);
  });

  it('refreshes a client token as a developer and shows the new expiry', async () => {
    await signInAs('user-agency-dev');
    const row = page.locator('tr', { hasText: '@ironhouse.gym' });
    const before = await row.locator('.expires').textContent();
    await row.getByRole('button', { name: 'Refresh token' }).click();
    await page.getByText('@ironhouse.gym refreshed').waitFor();
    const after = await row.locator('.expires').textContent();
    expect(after).not.toBe(before);
    expect((await system.store.getAccount('17841400000000003'))?.generation).toBe(2);

    mkdirSync(images, { recursive: true });
    await page.screenshot({ path: `${images}settings-page.png`, fullPage: true });
  });

  it('explains in words why an expired token cannot be refreshed, and offers the reconnect link', async () => {
    await signInAs('user-agency-dev');
    const row = page.locator('tr', { hasText: '@sunrise.bakery' });
    await row.getByRole('button', { name: 'Refresh token' }).click();
    const message = page.locator('#accounts-message');
    await message.getByRole('link', { name: 'Reconnect with Instagram' }).waitFor();
    expect(await message.textContent()).toMatch(/expired|reconnect/i);
  });

  it('reconnects an expired client token through Instagram and shows it active again', async () => {
    await signInAs('user-agency-dev');
    const row = page.locator('tr', { hasText: '@sunrise.bakery' });
    await row.getByRole('button', { name: 'Refresh token' }).click();
    await page.getByRole('link', { name: 'Reconnect with Instagram' }).click();
    // Instagram's consent page (the local stand-in), then back to the settings page.
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Reconnected: the token now expires').waitFor();
    expect(new URL(page.url()).search).toBe('');
    await expect
      .poll(() =>
        page.locator('tr', { hasText: '@sunrise.bakery' }).locator('.status').textContent(),
      )
      .toBe('active');
    expect((await system.store.getAccount('17841400000000001'))?.generation).toBe(2);
  });

  it('says in plain words what happened to a token that is not active', async () => {
    await system.store.putAccount(
      {
        accountId: '17841400000000077',
        ownerUserId: 'user-gym',
        username: 'ironhouse.shop',
        accessToken: 'IGQ-settings-cause',
        expiresAt: new Date(Date.now() + 20 * 86_400_000).toISOString(),
        tokenStatus: 'invalid',
        cause: 'password-changed',
      },
      new Date(),
    );
    await signInAs('user-gym');
    const row = page.locator('tr', { hasText: '@ironhouse.shop' });
    expect(await row.locator('.status').textContent()).toBe('invalid');
    expect(await row.locator('.cause').textContent()).toMatch(
      /password was changed.*Reconnect it with the new password/,
    );
    const healthy = page.locator('tr', { hasText: '@ironhouse.gym' });
    expect(await healthy.locator('.cause').textContent()).toBe('');
  });

  it('shows a banner during a storm that says it is not the customer’s fault, and none after', async () => {
    await signInAs('user-gym');
    expect(await page.locator('#incident').isVisible()).toBe(false);
    await system.store.declareStorm(
      { tokens: 30, causes: { 'session-invalidated': 30 } },
      new Date(),
    );
    try {
      await signInAs('user-gym');
      const banner = page.locator('#incident');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.textContent()).toMatch(/not your fault[\s\S]*no need to reconnect/i);
      await banner.screenshot({ path: `${images}storm-banner.png` });
    } finally {
      await system.store.endStorm(await system.store.getStormState(), 'discard', new Date());
    }
    await signInAs('user-gym');
    expect(await page.locator('#incident').isVisible()).toBe(false);
  });

  it('tells a user whose address bounced why no email comes, and nobody else', async () => {
    await signInAs('user-gym');
    expect(await page.locator('#email-status').isVisible()).toBe(false);
    const fed = await fetch(`${system.urls.api}/_local/ses/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'Bounce', email: 'team@ironhouse-gym.example' }),
    });
    expect(fed.status).toBe(200);
    await signInAs('user-gym');
    const notice = page.locator('#email-status');
    expect(await notice.isVisible()).toBe(true);
    expect(await notice.textContent()).toMatch(/bounced.*until your address changes/);
    await page.locator('#notifications').screenshot({ path: `${images}email-bounced.png` });
    await signInAs('user-freelancer-dev');
    expect(await page.locator('#email-status').isVisible()).toBe(false);
  });

  it('renders the developer email the first check sent', async () => {
    const emails = (
      (await (await fetch(`${system.urls.inbox}/store`)).json()) as {
        emails: { destination: { to: string[] }; body: { html?: string } }[];
      }
    ).emails;
    const email = emails.find((e) => e.destination.to.includes('dev@pixel-agency.example'));
    expect(email?.body.html).toBeDefined();
    const view = await browser.newPage({ viewport: { width: 720, height: 900 } });
    await view.setContent(email?.body.html ?? '');
    expect(await view.textContent('body')).toContain('@sunrise.bakery');
    await view.screenshot({ path: `${images}developer-email.png`, fullPage: true });
    await view.close();
  });
});

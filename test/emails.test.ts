import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { esbuildOptionsOf } from '../lib/bundling';
import { createEmailRenderer, sampleEmailData, type ExpiredTokenEmailData } from '#commons/emails';
import {
  compileTemplateSources,
  generatedFile,
  readTemplateSources,
  renderGeneratedModule,
} from '../scripts/email-templates';

const renderer = createEmailRenderer();
const owner = (data: Partial<ExpiredTokenEmailData> = {}) =>
  renderer.render('owner', { ...sampleEmailData, ...data });
const developer = (data: Partial<ExpiredTokenEmailData> = {}) =>
  renderer.render('developer', {
    ...sampleEmailData,
    actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
    ...data,
  });

describe('the expired-token emails', () => {
  it('have distinct one-line subjects naming the account', () => {
    const subjects = [owner().subject, developer().subject];
    expect(new Set(subjects).size).toBe(2);
    for (const subject of subjects) {
      expect(subject).toContain('@ann.bakery');
      expect(subject).not.toMatch(/[\r\n]/);
    }
  });

  it('tell the owner which account lost its connection, what stops working, and where to reconnect', () => {
    for (const body of [owner().text, owner().html]) {
      expect(body).toContain('@ann.bakery');
      expect(body).toMatch(/widget stops updating/);
      expect(body).toMatch(/images already shown may stop loading/);
      expect(body).toContain('https://app.example.com/instagram-accounts');
      expect(body).toContain('https://app.example.com/settings#notifications');
      expect(body).toContain('25 November 2026 at 12:00 UTC');
    }
  });

  it('tell a developer whose account it is, why they get it, where Refresh token is, and what a reconnect needs', () => {
    for (const body of [developer().text, developer().html]) {
      expect(body).toContain("client's Instagram account");
      expect(body).toContain('@ann.bakery');
      expect(body).toMatch(
        /opted in to expired token notifications as a developer of @ann\.bakery/,
      );
      expect(body).toMatch(/Refresh token/);
      expect(body).toMatch(/client's Instagram\s+credentials,\s+or a role on the Facebook page/);
      expect(body).toContain('https://app.example.com/settings#notifications');
    }
    expect(developer().text).toContain(
      'https://app.example.com/instagram-accounts?account=17841400000000001',
    );
  });

  it('say so when the token was invalidated rather than expired', () => {
    expect(owner({ reason: 'invalid' }).text).toMatch(/no longer accepts its access token/);
    expect(owner({ reason: 'invalid' }).text).not.toMatch(/expired on/);
    expect(owner().text).not.toMatch(/no longer accepts/);
  });

  it('escape what a user typed in the HTML, and keep the plain text readable', () => {
    const email = owner({ name: '<script>alert("x")</script> & Co' });
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html).toContain('&amp; Co');
    expect(email.text).toContain('Hi <script>alert("x")</script> & Co,');
  });

  it('refuse to render with a field missing instead of sending a gap', () => {
    const withoutUnsubscribe = { ...sampleEmailData, unsubscribeUrl: undefined };
    expect(() =>
      renderer.render('owner', withoutUnsubscribe as unknown as ExpiredTokenEmailData),
    ).toThrow(/unsubscribeUrl is missing/);
  });

  it('fail at build time when a template is broken, and at cold start when it names a missing field', () => {
    const sources = readTemplateSources();
    expect(() =>
      renderGeneratedModule({
        ...sources,
        developer: { ...sources.developer, html: '{{#if invalid}}never closed' },
      }),
    ).toThrow();
    expect(() =>
      createEmailRenderer(
        compileTemplateSources({
          ...sources,
          owner: { ...sources.owner, text: '{{noSuchField}}' },
        }),
      ),
    ).toThrow(/noSuchField/);
  });

  it('are precompiled from the templates as they are now (npm run templates)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(renderGeneratedModule());
  });

  it('render the same precompiled as compiled from the sources', () => {
    const fromSources = createEmailRenderer(compileTemplateSources());
    for (const kind of ['owner', 'developer'] as const) {
      expect(renderer.render(kind, sampleEmailData)).toEqual(
        fromSources.render(kind, sampleEmailData),
      );
    }
  });

  it('carry no template compiler into the notifier bundle, only the runtime', async () => {
    const result = await build({
      ...esbuildOptionsOf(),
      entryPoints: [
        fileURLToPath(new URL('../functions/notify-expired-token.ts', import.meta.url)),
      ],
      outdir: join(tmpdir(), 'tokenwatch-bundle-check'),
      write: false,
      metafile: true,
    });
    const handlebars = Object.keys(result.metafile.inputs).filter((path) =>
      path.includes('node_modules/handlebars/'),
    );
    expect(handlebars).toContain('node_modules/handlebars/dist/cjs/handlebars/runtime.js');
    expect(handlebars.filter((path) => path.includes('/compiler/'))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  createEmailRenderer,
  readTemplateSources,
  sampleEmailData,
  type ExpiredTokenEmailData,
} from '#commons/emails';

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

  it('fail at cold start, not at the first send, when a template is broken', () => {
    const sources = readTemplateSources();
    expect(() =>
      createEmailRenderer({
        ...sources,
        developer: { ...sources.developer, html: '{{#if invalid}}never closed' },
      }),
    ).toThrow();
    expect(() =>
      createEmailRenderer({
        ...sources,
        owner: { ...sources.owner, text: '{{noSuchField}}' },
      }),
    ).toThrow(/noSuchField/);
  });
});

import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '#platform/dynamodb';
import { eraseUser } from '#people/users';
import { createReconnectLinkStore } from '#tokens/reconnect-link-store';
import {
  hashOfSecret,
  linkState,
  linkStatus,
  linkUrl,
  newLinkSecret,
  parseLinkState,
  secretMatches,
  stateMatches,
} from '#tokens/reconnect-links';
import { useTestTable, type TestTable } from '../support/table';

let table: TestTable;
useTestTable((created) => (table = created));

const now = new Date('2026-11-25T12:00:00.000Z');
const inHours = (hours: number) => new Date(now.getTime() + hours * 3_600_000).toISOString();

describe('the rules of a reconnect link', () => {
  it('makes a 22-character id and a 43-character secret, and keeps only its SHA-256', () => {
    const { linkId, secret, secretHash } = newLinkSecret();
    expect(linkId).toMatch(/^[\w-]{22}$/);
    expect(secret).toMatch(/^[\w-]{43}$/);
    expect(secretHash).toBe(hashOfSecret(secret));
    expect(secretMatches({ secretHash }, secret)).toBe(true);
    expect(secretMatches({ secretHash }, `${secret.slice(0, -1)}A`)).toBe(secret.endsWith('A'));
  });

  it('puts the secret in the query of a URL under the API, with or without its trailing slash', () => {
    for (const api of ['https://api.example.com/', 'https://api.example.com']) {
      expect(linkUrl(api, '1784', 'L'.repeat(22), 'S'.repeat(43))).toBe(
        `https://api.example.com/reconnect/1784/${'L'.repeat(22)}?key=${'S'.repeat(43)}`,
      );
    }
  });

  it('is used once used, whatever else; then revoked; then expired; else active', () => {
    const link = { expiresAt: inHours(1) };
    expect(linkStatus(link, now)).toBe('active');
    expect(linkStatus({ expiresAt: inHours(0) }, now)).toBe('expired');
    expect(linkStatus({ ...link, revokedAt: inHours(0) }, now)).toBe('revoked');
    expect(
      linkStatus({ expiresAt: inHours(-1), revokedAt: inHours(-2), usedAt: inHours(-3) }, now),
    ).toBe('used');
  });

  it('binds the OAuth state to the account, the link and its secret under the app secret', () => {
    const { linkId, secretHash } = newLinkSecret();
    const link = { accountId: '17841400000000001', linkId, secretHash };
    const state = linkState(link, 'app-secret');
    const parsed = parseLinkState(state);
    expect(parsed).toMatchObject({ accountId: link.accountId, linkId });
    expect(stateMatches(link, parsed?.mac ?? '', 'app-secret')).toBe(true);
    expect(stateMatches(link, parsed?.mac ?? '', 'another-secret')).toBe(false);
    expect(
      stateMatches({ ...link, secretHash: hashOfSecret('x') }, parsed?.mac ?? '', 'app-secret'),
    ).toBe(false);
    expect(
      stateMatches({ ...link, accountId: '17841400000000002' }, parsed?.mac ?? '', 'app-secret'),
    ).toBe(false);
    for (const bad of [
      '',
      'a.b.c',
      `${link.accountId}.${linkId}`,
      `${state}.x`,
      `x y.${linkId}.${'A'.repeat(43)}`,
    ])
      expect(parseLinkState(bad)).toBeUndefined();
  });
});

describe('erasing the person who made links', () => {
  it('deletes the links they made: a link naming someone erased stops working', async () => {
    const links = createReconnectLinkStore(createDocumentClient(table.client), table.tableName);
    await table.store.putProfile({ userId: 'u-gone', email: 'gone@example.com', name: 'Gone' });
    const { linkId, secretHash } = newLinkSecret();
    const other = newLinkSecret();
    for (const [id, hash, createdBy] of [
      [linkId, secretHash, 'u-gone'],
      [other.linkId, other.secretHash, 'u-stays'],
    ] as const) {
      await links.putReconnectLink({
        accountId: '17841400000000009',
        linkId: id,
        createdBy,
        createdAt: now.toISOString(),
        expiresAt: inHours(72),
        secretHash: hash,
        generation: 1,
      });
    }
    await eraseUser(table.store, 'u-gone');
    expect(await table.itemsMentioning('u-gone')).toEqual([]);
    expect(await links.getReconnectLink('17841400000000009', linkId)).toBeUndefined();
    expect(await links.getReconnectLink('17841400000000009', other.linkId)).toBeDefined();
    // Still not an account the erased person (or anyone) belongs to through a link.
    expect(await table.store.listAccountsOf('u-stays')).toEqual([]);
  });
});

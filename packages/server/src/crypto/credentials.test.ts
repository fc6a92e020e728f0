import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuditHasher } from './audit-hash.js';
import { createCredentialFactory, hasValidChecksum, sha256Hex, UID_TOKEN_PATTERN } from './credentials.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const credentials = createCredentialFactory(createAuditHasher({ id: 'test', material: Buffer.alloc(32, 1) }));

/** Every token `u-…` the scanner pattern finds in `text` (the pattern is global: reset it first). */
function scan(text: string): string[] {
  return [...text.matchAll(UID_TOKEN_PATTERN)].map((m) => m[0]);
}

describe('UID token format', () => {
  it('is u- + 43 base64url characters (32 bytes) + a 6-character checksum', () => {
    for (let i = 0; i < 200; i++) {
      const token = credentials.newUidToken();
      expect(token).toMatch(/^u-[A-Za-z0-9_-]{49}$/);
      const body = token.slice(2, 45);
      expect(Buffer.from(body, 'base64url')).toHaveLength(32);
      const expected = createHash('sha256').update(body).digest().subarray(0, 4).toString('base64url');
      expect(token.slice(45)).toBe(expected.slice(0, 6));
      expect(hasValidChecksum(token)).toBe(true);
      expect(credentials.isWellFormedUidToken(token)).toBe(true);
    }
  });

  it('is random: no two of 2,000 tokens share a body', () => {
    const bodies = new Set(Array.from({ length: 2000 }, () => credentials.newUidToken().slice(2, 45)));
    expect(bodies.size).toBe(2000);
  });

  it('checksum detects every single-character change', () => {
    for (let t = 0; t < 5; t++) {
      const token = credentials.newUidToken();
      for (let i = 2; i < token.length; i++) {
        for (const c of BASE64URL) {
          if (c === token[i]) continue;
          const changed = token.slice(0, i) + c + token.slice(i + 1);
          if (hasValidChecksum(changed)) throw new Error(`undetected change at ${i}: ${changed}`);
        }
      }
    }
  });

  it('checksum detects swapped neighbours', () => {
    const token = credentials.newUidToken();
    for (let i = 2; i < token.length - 1; i++) {
      if (token[i] === token[i + 1]) continue;
      const swapped = token.slice(0, i) + token[i + 1] + token[i] + token.slice(i + 2);
      expect(hasValidChecksum(swapped)).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'u-'],
    ['no prefix', 'x'.repeat(51)],
  ])('refuses %s', (_label, text) => {
    expect(hasValidChecksum(text)).toBe(false);
    expect(credentials.isWellFormedUidToken(text)).toBe(false);
  });

  it('refuses wrong prefixes, lengths and alphabets around a valid token', () => {
    const token = credentials.newUidToken();
    const body = token.slice(2);
    for (const bad of [
      `U-${body}`,
      `t-${body}`,
      `u_${body}`,
      `${token}A`,
      token.slice(0, -1),
      ` ${token}`,
      `${token}\n`,
      `u-${body.slice(0, 10)}+${body.slice(11)}`,
      `u-${body.slice(0, 10)}/${body.slice(11)}`,
      `u-${body.slice(0, 10)}=${body.slice(11)}`,
      `u-${body.slice(0, 10)}é${body.slice(11)}`,
    ]) {
      expect(hasValidChecksum(bad), bad).toBe(false);
    }
  });

  it('refuses a UID token presented as an access key and vice versa', () => {
    const uid = credentials.newUidToken();
    const key = credentials.newAccessKey();
    expect(hasValidChecksum(uid, 'tak-')).toBe(false);
    expect(hasValidChecksum(key)).toBe(false);
    expect(credentials.isWellFormedUidToken(key)).toBe(false);
  });
});

describe('access key format', () => {
  it('is tak- + 43 base64url characters + a checksum', () => {
    for (let i = 0; i < 100; i++) {
      const key = credentials.newAccessKey();
      expect(key).toMatch(/^tak-[A-Za-z0-9_-]{49}$/);
      expect(hasValidChecksum(key, 'tak-')).toBe(true);
    }
  });
});

describe('UID_TOKEN_PATTERN', () => {
  const contexts: Array<[string, (t: string) => string]> = [
    ['alone', (t) => t],
    ['an Authorization header', (t) => `Authorization: Bearer ${t}`],
    ['a JSON document', (t) => JSON.stringify({ uidToken: t, other: 1 })],
    ['an env file', (t) => `FOO=1\nTESSERA_UID_TOKEN=${t}\nBAR=2`],
    ['a shell command', (t) => `tessera auth --uid-token '${t}' && echo ok`],
    ['a URL', (t) => `https://example.test/?token=${t}&x=1`],
    ['YAML', (t) => `uid:\n  token: "${t}"\n`],
    ['a log line', (t) => `2026-11-22T12:00:00Z INFO token=${t}, path=/x`],
    ['angle brackets', (t) => `<${t}>`],
  ];

  it.each(contexts)('finds tokens in %s', (_label, wrap) => {
    for (let i = 0; i < 300; i++) {
      const token = credentials.newUidToken();
      const found = scan(wrap(token));
      expect(found).toEqual([token]);
      expect(hasValidChecksum(found[0]!)).toBe(true);
    }
  });

  it('finds every token in a text holding many, and no others', () => {
    const tokens = Array.from({ length: 50 }, () => credentials.newUidToken());
    const text = tokens.map((t, i) => `line ${i}: ${t}`).join('\n');
    expect(scan(text)).toEqual(tokens);
    // The pattern is global and stateful in exec(); repeated scans give the same answer.
    expect(scan(text)).toEqual(tokens);
  });

  it('confirmed with the checksum, has no false positives on look-alikes', () => {
    const noise = [
      `u-${'A'.repeat(49)}`,
      `u-${'a1_-'.repeat(12)}x`,
      credentials.newUidToken().slice(0, -1) + 'x',
      `mu-${credentials.newUidToken().slice(2)}`, // not at a word boundary
    ].join(' ');
    const confirmed = scan(noise).filter((m) => hasValidChecksum(m));
    expect(confirmed).toEqual([]);
  });

  it('does not match a token glued inside a longer word', () => {
    const token = credentials.newUidToken();
    expect(scan(`x${token}`)).toEqual([]);
    expect(scan(`${token}x`)).toEqual([]);
  });
});

describe('hashing and comparison', () => {
  it('hashes to SHA-256 hex and never returns the input', () => {
    const token = credentials.newUidToken();
    const hash = credentials.hashCredential(token);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(sha256Hex(token));
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hash).not.toContain(token.slice(2, 12));
  });

  it('compares hashes exactly, refusing empty and mismatched lengths', () => {
    const a = sha256Hex('a');
    const b = sha256Hex('b');
    expect(credentials.equalHashes(a, a)).toBe(true);
    expect(credentials.equalHashes(a, b)).toBe(false);
    expect(credentials.equalHashes(a, a.slice(0, 62))).toBe(false);
    expect(credentials.equalHashes('', '')).toBe(false);
    expect(credentials.equalHashes(a, `${a}00`)).toBe(false);
  });
});

describe('identifiers', () => {
  it('newId: prefix + 20 base32 characters by default, or the length asked', () => {
    expect(credentials.newId('p-')).toMatch(/^p-[a-z2-7]{20}$/);
    expect(credentials.newId('s-', 16)).toMatch(/^s-[a-z2-7]{16}$/);
    const ids = new Set(Array.from({ length: 1000 }, () => credentials.newId('i-')));
    expect(ids.size).toBe(1000);
  });

  it('newNodeId: 12 base32 characters, valid in a materialised path', () => {
    for (let i = 0; i < 200; i++) expect(credentials.newNodeId()).toMatch(/^[a-z2-7]{12}$/);
  });
});

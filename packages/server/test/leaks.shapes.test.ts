import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  findTesseraCredentials,
  hmacSha256Hex,
  maskSecret,
  recogniseTesseraCredential,
  sha256Hex,
} from '@tessera/sdk';
import { describe, expect, it } from 'vitest';
import { createAuditHasher } from '../src/crypto/audit-hash.js';
import {
  createCredentialFactory,
  credentialKindOf,
  newClientSecret,
  newInitialAccessToken,
  newRegistrationAccessToken,
} from '../src/crypto/credentials.js';
import { dynamicPassword, randomPassword, rotatedPassword } from '../src/crypto/random-password.js';
import { split } from '../src/crypto/shamir.js';
import { startTestServer } from './harness.js';

/** The SDK's offline recogniser and the server's credential formats agree (ADR 0020). */
describe('credential shapes: SDK recogniser against the server', () => {
  const factory = createCredentialFactory(createAuditHasher({ material: randomBytes(32) } as never));
  const minted = () => ({
    uid_token: factory.newUidToken(),
    access_key: factory.newAccessKey(),
    client_secret: newClientSecret(),
    registration_token: newRegistrationAccessToken(),
    initial_access_token: newInitialAccessToken(),
    dynamic_password: dynamicPassword(32 + Math.floor(Math.random() * 97)),
    rotated_password: rotatedPassword(32 + Math.floor(Math.random() * 97)),
  });

  it('the SDK SHA-256 is SHA-256', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 200, 1000]) {
      const text = randomBytes(n).toString('latin1');
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
      for (const keyLength of [0, 16, 32, 64, 65, 100]) {
        const key = randomBytes(keyLength);
        expect(hmacSha256Hex(key, text)).toBe(createHmac('sha256', key).update(text, 'utf8').digest('hex'));
      }
    }
  });

  it('recognises 1,000 of each kind the server mints, the same way the server does', () => {
    for (let i = 0; i < 1000; i++) {
      for (const [kind, value] of Object.entries(minted())) {
        expect(recogniseTesseraCredential(value)).toBe(kind);
        expect(credentialKindOf(value)).toBe(kind);
      }
    }
  });

  it('finds each in text, with its position, and refuses a one-character change', () => {
    const m = minted();
    const text = Object.entries(m)
      .map(([k, v]) => `${k.toUpperCase()}="${v}"\n`)
      .join('');
    const found = findTesseraCredentials(text);
    expect(found.map((f) => f.kind)).toEqual(Object.keys(m));
    for (const f of found) expect(text.slice(f.index, f.index + f.length)).toBe(f.value);
    for (const value of Object.values(m)) {
      const i = value.length - 8;
      const typo = `${value.slice(0, i)}${value[i] === 'x' ? 'y' : 'x'}${value.slice(i + 1)}`;
      expect(recogniseTesseraCredential(typo)).toBeNull();
      expect(credentialKindOf(typo)).toBeNull();
      expect(findTesseraCredentials(`k=${typo}`)).toEqual([]);
    }
    // Not inside a longer run of token characters.
    expect(findTesseraCredentials(`x${m.access_key}`)).toEqual([]);
  });

  it('recognises the session tokens the server signs, with or without t-', async () => {
    const s = await startTestServer('sqlite');
    try {
      const token = s.adminToken;
      expect(recogniseTesseraCredential(token)).toBe('session_token');
      expect(credentialKindOf(`t-${token}`)).toBe('session_token');
      const found = findTesseraCredentials(`Authorization: Bearer t-${token}`);
      expect(found).toEqual([{ kind: 'session_token', value: token, index: 22, length: token.length + 2 }]);
      const [h, p] = token.split('.');
      expect(recogniseTesseraCredential(`${h}.${p}.${'A'.repeat(85)}`)).toBeNull();
    } finally {
      await s.close();
    }
  });

  it('a rotated password has its own shape, and a random password of the same length is not one', () => {
    for (let i = 0; i < 1000; i++) {
      const p = rotatedPassword();
      expect(p).toMatch(/^trp1[A-Za-z0-9]{28}$/);
      // Not a dynamic password: the prefix names the kind.
      expect(recogniseTesseraCredential(`tdp1${p.slice(4)}`)).toBe('dynamic_password');
      expect(recogniseTesseraCredential(p)).toBe('rotated_password');
      // 1,000 random strings with the prefix and the alphabet: the checksum rejects them (≈ 2^-35 each).
      const forged = `trp1${randomPassword(28)}`;
      expect(recogniseTesseraCredential(forged)).toBe(null);
      expect(credentialKindOf(forged)).toBe(null);
    }
  });

  it('recognises unseal key shares by prefix and checksum, and not an altered one', () => {
    for (let i = 0; i < 200; i++) {
      const shares = split(randomBytes(32), 5, 3);
      for (const share of shares) {
        expect(recogniseTesseraCredential(share)).toBe('unseal_share');
        expect(credentialKindOf(share)).toBe('unseal_share');
        const at = share.length - 12;
        const altered = `${share.slice(0, at)}${share[at] === 'A' ? 'B' : 'A'}${share.slice(at + 1)}`;
        expect(recogniseTesseraCredential(altered)).toBe(null);
        expect(credentialKindOf(altered)).toBe(null);
      }
      const text = `UNSEAL_SHARE_1="${shares[0]}"\nnext: ${shares[1]}\n`;
      expect(findTesseraCredentials(text).map((f) => [f.kind, f.value])).toEqual([
        ['unseal_share', shares[0]],
        ['unseal_share', shares[1]],
      ]);
      expect(maskSecret(shares[0]!)).not.toContain(shares[0]!.slice(-20));
    }
  });

  it('masks: never more than a quarter of the value, and the prefix plus four at most', () => {
    const m = minted();
    expect(maskSecret(m.uid_token)).toMatch(/^u-.{4}…\(51 chars\)$/);
    expect(maskSecret(m.dynamic_password).startsWith('tdp1')).toBe(true);
    expect(maskSecret('hunter22')).toBe('hu…(8 chars)');
  });
});

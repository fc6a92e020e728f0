import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RootKey } from './envelope.js';
import { createSecretCipher } from './secret-cipher.js';

const rootKey: RootKey = { id: 'test-root', material: randomBytes(32) };

function cipherWithKek(version = 1) {
  const cipher = createSecretCipher(rootKey);
  cipher.loadKeks([{ ...cipher.newKek(version), createdAtMs: 0 }]);
  return cipher;
}

describe('the secret cipher', () => {
  it('round-trips a value under a data key wrapped by a KEK', () => {
    const cipher = cipherWithKek();
    const dek = cipher.newDataKey();
    const wrapped = cipher.wrap(dek, 1, 's-a');
    const ct = cipher.encrypt(dek, 'pä$$wörd 🙂', 'aad-1');
    expect(ct).toMatch(/^c1\.[\w-]+\.[\w-]+$/);
    expect(wrapped).toMatch(/^k1\.1\.[\w-]+\.[\w-]+$/);
    const again = cipher.unwrap(wrapped, 1, 's-a');
    expect(cipher.decrypt(again, ct, 'aad-1')).toBe('pä$$wörd 🙂');
  });

  it('binds values to their associated data and data keys to their item and KEK version', () => {
    const cipher = cipherWithKek();
    const dek = cipher.newDataKey();
    const wrapped = cipher.wrap(dek, 1, 's-a');
    const ct = cipher.encrypt(dek, 'v', 'tessera-secret:v1:s-a:1');
    expect(() => cipher.decrypt(dek, ct, 'tessera-secret:v1:s-a:2')).toThrow();
    expect(() => cipher.decrypt(dek, ct, 'tessera-secret:v1:s-b:1')).toThrow();
    expect(() => cipher.decrypt(cipher.newDataKey(), ct, 'tessera-secret:v1:s-a:1')).toThrow();
    expect(() => cipher.unwrap(wrapped, 1, 's-b')).toThrow();
    expect(() => cipher.unwrap(wrapped.replace('k1.1.', 'k1.2.'), 2, 's-a')).toThrow();
    for (const bad of ['', 'c1', 'c1.a', 'c2.a.b', `${ct}.x`])
      expect(() => cipher.decrypt(dek, bad, 'x')).toThrow();
  });

  it('hands out copies of cached data keys, and forgets them with their KEK', () => {
    const cipher = cipherWithKek();
    const dek = cipher.newDataKey();
    const wrapped = cipher.wrap(dek, 1, 's-a');
    const ct = cipher.encrypt(dek, 'v', 'aad');
    const first = cipher.unwrap(wrapped, 1, 's-a');
    first.fill(0); // callers zero what they get
    expect(cipher.decrypt(cipher.unwrap(wrapped, 1, 's-a'), ct, 'aad')).toBe('v');
    cipher.forgetKek(1);
    expect(cipher.hasKek(1)).toBe(false);
    expect(() => cipher.unwrap(wrapped, 1, 's-a')).toThrow();
  });

  it('seals KEKs under the root key: another root key cannot load them', () => {
    const cipher = createSecretCipher(rootKey);
    const kek = cipher.newKek(3);
    expect(kek.sealed.startsWith('v1.test-root.')).toBe(true);
    const other = createSecretCipher({ id: 'test-root', material: randomBytes(32) });
    expect(() => other.loadKeks([{ ...kek, createdAtMs: 0 }])).toThrow();
    // A sealed KEK relabelled as another version does not load either.
    expect(() => cipher.loadKeks([{ version: 4, sealed: kek.sealed, createdAtMs: 0 }])).toThrow();
  });

  it('loads the complete set: versions no longer stored are forgotten', () => {
    const cipher = createSecretCipher(rootKey);
    const one = { ...cipher.newKek(1), createdAtMs: 0 };
    const two = { ...cipher.newKek(2), createdAtMs: 0 };
    cipher.loadKeks([one, two]);
    expect([cipher.hasKek(1), cipher.hasKek(2)]).toEqual([true, true]);
    cipher.loadKeks([two], true);
    expect([cipher.hasKek(1), cipher.hasKek(2)]).toEqual([false, true]);
  });
});

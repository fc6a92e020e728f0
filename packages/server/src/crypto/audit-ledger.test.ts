import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChainHasher } from './audit-ledger.js';

/** The chain hash as every ledger so far was written: Node's Hmac, three updates (ADR 0006). */
const reference = (key: Buffer, prevHash: string, serialized: string) =>
  createHmac('sha256', key).update(prevHash).update('\n').update(serialized).digest('hex');

describe('ChainHasher', () => {
  const chainKey = randomBytes(32);
  const hasher = new ChainHasher({ chainKey });
  const prev = randomBytes(32).toString('hex');

  it('computes the same HMAC-SHA256 as createHmac, for every kind of event text', () => {
    const texts = [
      '',
      '[]',
      JSON.stringify([1, 'ev-1', 1733616000000, 'auth.succeeded', 'success', '{"identityId":"i-1"}', null]),
      // Non-ASCII, characters JSON escapes, a lone surrogate (encoded as U+FFFD either way).
      JSON.stringify(['Grüße, 東京 🚀', 'tab\there\nnewline "quoted" \\ back', '\u2028\u007f']),
      'raw lone surrogate \ud800 and \udc00',
      // Longer than the buffer the hasher starts with, ASCII and multi-byte.
      'x'.repeat(5000),
      '€'.repeat(3000),
      // Every length across SHA-256's padding boundaries (a message of 55–64 bytes mod 64).
      ...Array.from({ length: 200 }, (_, n) => 'a'.repeat(n)),
    ];
    for (const text of texts) {
      expect(hasher.hashSerialized(prev, text)).toBe(reference(chainKey, prev, text));
      expect(hasher.hashMessage(`${prev}\n${text}`)).toBe(reference(chainKey, prev, text));
    }
    // After growing for a long message, short ones still hash right (no stale bytes).
    expect(hasher.hashSerialized(prev, 'short')).toBe(reference(chainKey, prev, 'short'));
    for (let i = 0; i < 500; i++) {
      const text = randomBytes(1 + (i % 300)).toString(i % 2 ? 'latin1' : 'base64');
      expect(hasher.hashSerialized(prev, text)).toBe(reference(chainKey, prev, text));
    }
  });

  it('hashes the fields as JSON.stringify gives them, keyed by the root key (HKDF)', () => {
    const material = randomBytes(32);
    const fromRoot = new ChainHasher({ id: 'k', material });
    const key = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'tessera audit chain v1', 32));
    const fields = [
      7,
      'ev-7',
      1733616000000,
      'secret.read',
      'success',
      '{}',
      '/a',
      null,
      'r',
      '::1',
      '{"v":1}',
    ];
    expect(fromRoot.hash(prev, fields)).toBe(reference(key, prev, JSON.stringify(fields)));
    expect(new ChainHasher({ chainKey: fromRoot.chainKey() }).hash(prev, fields)).toBe(
      fromRoot.hash(prev, fields),
    );
    expect(fromRoot.hash(prev, fields)).not.toBe(hasher.hash(prev, fields));
  });
});

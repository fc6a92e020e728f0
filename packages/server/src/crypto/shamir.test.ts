import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rootKeyId } from './root-key.js';
import { combine, interpolate, parseShare, ShareError, split } from './shamir.js';

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [head, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((s) => [head, ...s]), ...subsets(rest, size)];
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ShareError) return error.problem;
    throw error;
  }
  throw new Error('expected a ShareError');
}

/** Replaces one character of the values part of a share (keeping the old checksum). */
function typo(share: string): string {
  const at = share.length - 15;
  return share.slice(0, at) + (share[at] === 'A' ? 'B' : 'A') + share.slice(at + 1);
}

describe('Shamir secret sharing over GF(256)', () => {
  const secret = randomBytes(32);

  it('formats self-describing shares: prefix, index, threshold, key id, values, checksum', () => {
    const shares = split(secret, 5, 3);
    expect(shares).toHaveLength(5);
    shares.forEach((share, i) => {
      expect(share.startsWith(`tessera-share-${i + 1}-3-${rootKeyId(secret)}-`)).toBe(true);
      expect(share).toMatch(/-[0-9a-f]{8}$/);
      const parsed = parseShare(`  ${share}\n`);
      expect(parsed).toMatchObject({ index: i + 1, threshold: 3, keyId: rootKeyId(secret) });
      expect(parsed.values).toHaveLength(32);
    });
  });

  it('rebuilds the secret from every subset of k shares (and from more than k)', () => {
    const shares = split(secret, 5, 3);
    for (const subset of subsets(shares, 3)) expect(Buffer.from(combine(subset))).toEqual(secret);
    for (const subset of subsets(shares, 4)) expect(Buffer.from(combine(subset))).toEqual(secret);
    expect(Buffer.from(combine([...shares].reverse()))).toEqual(secret);
  });

  it('works at the edges: 2 of 2, 255 of 255, a 1-byte secret', () => {
    const two = split(secret, 2, 2);
    expect(Buffer.from(combine(two))).toEqual(secret);
    const all = split(secret, 255, 255);
    expect(all.at(-1)).toMatch(/^tessera-share-255-255-/);
    expect(Buffer.from(combine(all))).toEqual(secret);
    const one = Uint8Array.of(0x5a);
    expect(Buffer.from(combine(split(one, 3, 2).slice(1)))).toEqual(Buffer.from(one));
  });

  it('k - 1 shares rebuild something else, and do not pass for the key', () => {
    const shares = split(secret, 5, 3);
    for (const subset of subsets(shares, 2)) {
      expect(problem(() => combine(subset))).toBe('too-few');
      const guessed = interpolate(subset.map(parseShare));
      expect(Buffer.from(guessed)).not.toEqual(secret);
      expect(rootKeyId(guessed)).not.toBe(rootKeyId(secret));
    }
  });

  it('two splits of one key give different shares that do not mix', () => {
    const a = split(secret, 3, 2);
    const b = split(secret, 3, 2);
    expect(a[0]).not.toBe(b[0]);
    expect(problem(() => combine([a[0]!, b[1]!]))).toBe('mismatch');
  });

  it('refuses duplicates, shares of another key, typos and malformed text', () => {
    const shares = split(secret, 5, 3);
    const other = split(randomBytes(32), 5, 3);
    expect(problem(() => combine([shares[0]!, shares[0]!, shares[1]!]))).toBe('duplicate');
    expect(problem(() => combine([shares[0]!, shares[1]!, other[2]!]))).toBe('mixed');
    expect(problem(() => combine([shares[0]!, shares[1]!, split(secret, 5, 4)[2]!]))).toBe('mixed');
    expect(problem(() => combine([shares[0]!, shares[1]!, typo(shares[2]!)]))).toBe('checksum');
    expect(problem(() => parseShare('hello'))).toBe('malformed');
    expect(problem(() => parseShare(shares[0]!.slice(0, -12)))).toBe('malformed');
    expect(problem(() => parseShare(shares[0]!.replace('tessera-share-1-', 'tessera-share-0-')))).toBe(
      'malformed',
    );
    expect(problem(() => parseShare(shares[0]!.replace('-3-', '-1-')))).toBe('malformed');
    expect(problem(() => combine([]))).toBe('too-few');
  });

  it('never puts the secret or a share in an error message', () => {
    const shares = split(secret, 5, 3);
    for (const bad of [typo(shares[0]!), shares[0]!.slice(0, -3)]) {
      try {
        combine([bad, shares[1]!, shares[2]!]);
      } catch (error) {
        const message = (error as Error).message;
        expect(message).not.toContain(bad.slice(30, 50));
        expect(message).not.toContain(secret.toString('base64'));
      }
    }
  });

  it('checks its limits: 2 ≤ k ≤ n ≤ 255', () => {
    expect(() => split(secret, 256, 3)).toThrow(RangeError);
    expect(() => split(secret, 5, 1)).toThrow(RangeError);
    expect(() => split(secret, 3, 4)).toThrow(RangeError);
    expect(() => split(secret, 1, 1)).toThrow(RangeError);
    expect(() => split(new Uint8Array(0), 3, 2)).toThrow(RangeError);
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { rootKeyId } from './root-key.js';

/**
 * Shamir's secret sharing over GF(2^8) (ADR 0012): a secret split into `n` shares so that any `k`
 * of them rebuild it and `k - 1` of them say nothing about it. Each byte of the secret is the
 * constant term of its own random polynomial of degree `k - 1`; share `x` holds the polynomials'
 * values at `x` (1..255). The field is the AES one (x^8 + x^4 + x^3 + x + 1, generator 3).
 *
 * A share is a self-describing string:
 * `tessera-share-<index>-<threshold>-<keyId>-<values, base64url>-<checksum>`, where `keyId` is the
 * fingerprint of the secret (for a root key, its id, so shares of two keys are never mixed) and the
 * checksum (8 hex digits of a hash of the rest) catches a typo before anything is combined.
 */

const PREFIX = 'tessera-share-';
const SHARE_PATTERN =
  /^tessera-share-([1-9][0-9]{0,2})-([1-9][0-9]{0,2})-([A-Za-z0-9_-]{10})-([A-Za-z0-9_-]{2,400})-([0-9a-f]{8})$/;
/** The most shares a secret can have: the non-zero elements of GF(256). */
export const MAX_SHARES = 255;

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    // x * 3 = x * 2 XOR x, reduced modulo the AES polynomial.
    x ^= (x << 1) ^ (x & 0x80 ? 0x11b : 0);
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]!;
}

function mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[(LOG[a] ?? 0) + (LOG[b] ?? 0)]!;
}

function div(a: number, b: number): number {
  if (b === 0) throw new Error('division by zero in GF(256)');
  if (a === 0) return 0;
  return EXP[(LOG[a] ?? 0) + 255 - (LOG[b] ?? 0)]!;
}

/** Why a set of shares was refused; `message` never contains a share. */
export type ShareProblem = 'malformed' | 'checksum' | 'mixed' | 'duplicate' | 'too-few' | 'mismatch';

/** A share (or set of shares) that cannot be used. */
export class ShareError extends Error {
  constructor(
    readonly problem: ShareProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ShareError';
  }
}

/** A parsed share. */
export interface KeyShare {
  /** The x coordinate, 1..255. */
  index: number;
  /** How many shares rebuild the secret. */
  threshold: number;
  /** Fingerprint of the secret the share belongs to. */
  keyId: string;
  /** The polynomials' values at `index`, one byte per byte of the secret. */
  values: Uint8Array;
}

function checksum(body: string): string {
  return createHash('sha256').update('tessera-share-check:').update(body).digest('hex').slice(0, 8);
}

function format(share: KeyShare): string {
  const body = `${PREFIX}${share.index}-${share.threshold}-${share.keyId}-${Buffer.from(share.values).toString('base64url')}`;
  return `${body}-${checksum(body)}`;
}

function checkCounts(n: number, k: number) {
  if (!Number.isInteger(n) || n < 2 || n > MAX_SHARES)
    throw new RangeError(`the number of shares must be between 2 and ${MAX_SHARES}`);
  if (!Number.isInteger(k) || k < 2 || k > n)
    throw new RangeError('the threshold must be at least 2 and at most the number of shares');
}

/**
 * Splits `secret` into `n` shares, any `k` of which rebuild it (2 ≤ k ≤ n ≤ 255). Coefficients come
 * from the system's cryptographic random source.
 */
export function split(secret: Uint8Array, n: number, k: number): string[] {
  checkCounts(n, k);
  if (secret.length < 1 || secret.length > 256) throw new RangeError('the secret must be 1 to 256 bytes');
  const keyId = rootKeyId(secret);
  const coefficients = randomBytes(secret.length * (k - 1));
  const shares: string[] = [];
  for (let x = 1; x <= n; x++) {
    const values = new Uint8Array(secret.length);
    for (let b = 0; b < secret.length; b++) {
      // Horner's rule from the highest coefficient down to the secret byte.
      let y = 0;
      for (let d = k - 1; d >= 1; d--) y = mul(y, x) ^ coefficients[b * (k - 1) + (d - 1)]!;
      values[b] = mul(y, x) ^ secret[b]!;
    }
    shares.push(format({ index: x, threshold: k, keyId, values }));
  }
  coefficients.fill(0);
  return shares;
}

/** True when `value` (exactly) is a well-formed key share with a valid checksum: the scanner's test. */
export function isKeyShare(value: string): boolean {
  if (value.trim() !== value || !value.startsWith(PREFIX)) return false;
  try {
    parseShare(value);
    return true;
  } catch {
    return false;
  }
}

/** Parses one share, checking its form and checksum; surrounding white space is ignored. */
export function parseShare(text: string): KeyShare {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PREFIX)) throw new ShareError('malformed', 'not a Tessera key share');
  const match = SHARE_PATTERN.exec(trimmed);
  if (!match) throw new ShareError('malformed', 'the key share is malformed (truncated or altered?)');
  const [, index, threshold, keyId, payload, check] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const values = Buffer.from(payload, 'base64url');
  if (values.toString('base64url') !== payload)
    throw new ShareError('malformed', 'the key share is malformed (truncated or altered?)');
  const x = Number(index);
  const k = Number(threshold);
  if (x > MAX_SHARES || k < 2 || k > MAX_SHARES)
    throw new ShareError('malformed', 'the key share has an impossible index or threshold');
  if (checksum(trimmed.slice(0, trimmed.length - 9)) !== check)
    throw new ShareError('checksum', 'the key share fails its checksum: check it for a typo');
  return { index: x, threshold: k, keyId, values: new Uint8Array(values) };
}

/**
 * Checks that `share` can join `others` (same key, threshold and length, a new index); throws a
 * {@link ShareError} saying why not.
 */
export function checkCompatible(others: readonly KeyShare[], share: KeyShare): void {
  const first = others[0];
  if (!first) return;
  if (share.keyId !== first.keyId)
    throw new ShareError('mixed', `the key share belongs to key ${share.keyId}, not ${first.keyId}`);
  if (share.threshold !== first.threshold || share.values.length !== first.values.length)
    throw new ShareError('mixed', 'the key share comes from another split of the key');
  if (others.some((o) => o.index === share.index))
    throw new ShareError('duplicate', `key share ${share.index} was already given`);
}

/** Lagrange interpolation at x = 0 of the given points: the secret when there are enough of them. */
export function interpolate(shares: readonly KeyShare[]): Uint8Array {
  const length = shares[0]?.values.length ?? 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < shares.length; i++) {
    const xi = shares[i]!.index;
    // Basis polynomial l_i(0) = Π_{j≠i} x_j / (x_j - x_i); subtraction is XOR in GF(2^8).
    let basis = 1;
    for (let j = 0; j < shares.length; j++) {
      if (j === i) continue;
      const xj = shares[j]!.index;
      basis = mul(basis, div(xj, xj ^ xi));
    }
    const values = shares[i]!.values;
    for (let b = 0; b < length; b++) out[b] = out[b]! ^ mul(values[b]!, basis);
  }
  return out;
}

/**
 * Rebuilds the secret from at least `threshold` shares (strings or parsed), refusing malformed,
 * mixed or duplicate shares, too few of them, and a result whose fingerprint is not the shares' key id
 * (shares of two different splits of one key).
 */
export function combine(shares: readonly (string | KeyShare)[]): Uint8Array {
  const parsed: KeyShare[] = [];
  for (const s of shares) {
    const share = typeof s === 'string' ? parseShare(s) : s;
    checkCompatible(parsed, share);
    parsed.push(share);
  }
  const first = parsed[0];
  if (!first || parsed.length < first.threshold)
    throw new ShareError('too-few', `${first?.threshold ?? 2} key shares are needed, ${parsed.length} given`);
  const secret = interpolate(parsed.slice(0, first.threshold));
  if (rootKeyId(secret) !== first.keyId) {
    secret.fill(0);
    throw new ShareError('mismatch', 'the key shares do not rebuild their key (shares of different splits?)');
  }
  return secret;
}

import { createHash, randomInt } from 'node:crypto';

/**
 * Characters of generated passwords: letters and digits only, so a password never needs quoting in a
 * connection string, a shell, a DSN or a Redis ACL rule (`>password` ends at the first space).
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A uniformly random password of `length` characters (≈5.95 bits each; 32 characters ≈ 190 bits). */
export function randomPassword(length = 32): string {
  if (!Number.isInteger(length) || length < 16 || length > 256)
    throw new RangeError('password length must be an integer in [16, 256]');
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Prefix of the passwords Tessera issues for dynamic secrets (`1`: the shape's version). */
export const DYNAMIC_PASSWORD_PREFIX = 'tdp1';
const CHECKSUM_LENGTH = 6;

/** Six base62 digits of the first four bytes of SHA-256 over the body (big-endian). */
function base62Checksum(body: string): string {
  let n = createHash('sha256').update(body).digest().readUInt32BE(0);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * A dynamic secret's password with a recognisable, checksummed shape (ADR 0020): `tdp1` + a random
 * base62 body + a 6-character checksum, `length` characters in all (32–128; a 32-character one
 * still has 22 random characters, ≈131 bits). Letters and digits only, like {@link randomPassword},
 * so every target accepts it unquoted; the shape lets a scanner find a leaked one offline.
 */
export function dynamicPassword(length = 32): string {
  if (!Number.isInteger(length) || length < 32 || length > 128)
    throw new RangeError('dynamic password length must be an integer in [32, 128]');
  const body = randomPassword(length - DYNAMIC_PASSWORD_PREFIX.length - CHECKSUM_LENGTH);
  return `${DYNAMIC_PASSWORD_PREFIX}${body}${base62Checksum(body)}`;
}

/** True when `value` has the shape and checksum of a {@link dynamicPassword}. */
export function isDynamicPassword(value: string, prefix = DYNAMIC_PASSWORD_PREFIX): boolean {
  if (!value.startsWith(prefix) || value.length < 32 || value.length > 128) return false;
  if (!/^[A-Za-z0-9]+$/.test(value)) return false;
  return base62Checksum(value.slice(prefix.length, -CHECKSUM_LENGTH)) === value.slice(-CHECKSUM_LENGTH);
}

/** Prefix of the passwords rotated secrets set on their targets (`1`: the shape's version). */
export const ROTATED_PASSWORD_PREFIX = 'trp1';

/**
 * A rotated secret's password (ADR 0020, issue 17: every credential Tessera issues has a shape):
 * `trp1` + base62 body + 6-character checksum, like {@link dynamicPassword}; letters and digits only,
 * so every target takes it unquoted.
 */
export function rotatedPassword(length = 32): string {
  if (!Number.isInteger(length) || length < 32 || length > 128)
    throw new RangeError('rotated password length must be an integer in [32, 128]');
  const body = randomPassword(length - ROTATED_PASSWORD_PREFIX.length - CHECKSUM_LENGTH);
  return `${ROTATED_PASSWORD_PREFIX}${body}${base62Checksum(body)}`;
}

/** True when `value` has the shape and checksum of a {@link rotatedPassword}. */
export const isRotatedPassword = (value: string): boolean =>
  isDynamicPassword(value, ROTATED_PASSWORD_PREFIX);

import { randomInt } from 'node:crypto';

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

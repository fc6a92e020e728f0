/**
 * Canonical base64url (RFC 7515 §2: the URL-safe alphabet, no padding, no line breaks or other
 * characters). Node's decoder is lenient — it skips characters outside the alphabet, accepts `=`
 * padding, mixes `+`/`/` with `-`/`_` and ignores the unused low bits of the last character — so
 * one token could be written many ways. Only the single canonical spelling is accepted: the
 * segment must be exactly what encoding its bytes gives back.
 */
const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The bytes of a canonical base64url segment, or `null` when the segment is not canonical. */
export function decodeCanonicalBase64Url(segment: string): Buffer | null {
  if (!ALPHABET.test(segment) || segment.length % 4 === 1) return null;
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : null;
}

import { sha256, sha256Hex } from './sha256.js';

/**
 * The shapes of the credentials Tessera issues, recognised offline (ADR 0020): a prefix that names
 * the kind and a checksum over the random body, so a scanner finds them in any text with no false
 * positives and without asking the server.
 *
 * | kind | shape |
 * |---|---|
 * | `uid_token` | `u-` + base64url(32 random bytes) + 6-character base64url checksum |
 * | `access_key` | `tak-` + the same |
 * | `client_secret` | `tcs-` + the same (OAuth `client_secret_basic`/`_post`) |
 * | `registration_token` | `trt-` + the same (RFC 7592 registration access tokens) |
 * | `initial_access_token` | `tri-` + the same (RFC 7591 initial access tokens for dynamic registration under a path) |
 * | `dynamic_password` | `tdp1` + base62 body + 6-character base62 checksum (letters and digits only, 32–128 characters) |
 * | `rotated_password` | `trp1` + the same (the passwords a rotated secret sets on its target) |
 * | `unseal_share` | `tessera-share-<index>-<threshold>-<keyId>-<values>-` + 8 hex digits of SHA-256 (`tessera-share-check:` + the rest) |
 * | `session_token` | an EdDSA `at+jwt` with Tessera's fixed header, optionally behind `t-`; its checksum is the signature (64 bytes), and its payload names a `jti` starting `s-` |
 */
export type TesseraCredentialKind =
  | 'uid_token'
  | 'access_key'
  | 'client_secret'
  | 'registration_token'
  | 'initial_access_token'
  | 'session_token'
  | 'dynamic_password'
  | 'rotated_password'
  | 'unseal_share';

export const TESSERA_CREDENTIAL_KINDS: readonly TesseraCredentialKind[] = [
  'uid_token',
  'access_key',
  'client_secret',
  'registration_token',
  'initial_access_token',
  'session_token',
  'dynamic_password',
  'rotated_password',
  'unseal_share',
];

/** One credential found in a text. */
export interface FoundCredential {
  kind: TesseraCredentialKind;
  /** The credential exactly as written (with a session token's `t-` prefix removed). */
  value: string;
  /** UTF-16 offset of its first character in the text. */
  index: number;
  /** How many characters it occupies in the text (`t-` included). */
  length: number;
}

const PREFIXED_KINDS: Record<string, TesseraCredentialKind> = {
  'u-': 'uid_token',
  'tak-': 'access_key',
  'tcs-': 'client_secret',
  'trt-': 'registration_token',
  'tri-': 'initial_access_token',
};
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
/** The prefix of dynamic passwords; `1` is the shape's version. */
export const DYNAMIC_PASSWORD_PREFIX = 'tdp1';
/** The prefix of the passwords rotated secrets set; `1` is the shape's version. */
export const ROTATED_PASSWORD_PREFIX = 'trp1';
/** The prefix of unseal key shares (ADR 0012). */
export const UNSEAL_SHARE_PREFIX = 'tessera-share-';
const SHARE_PATTERN =
  /^tessera-share-[1-9][0-9]{0,2}-[1-9][0-9]{0,2}-[A-Za-z0-9_-]{10}-[A-Za-z0-9_-]{2,400}-[0-9a-f]{8}$/;
const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url of `{"alg":"EdDSA","typ":"at+jwt","kid":` — the start of every Tessera session token. */
export const SESSION_TOKEN_HEADER_PREFIX = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6';

/**
 * One pass over the text finds every candidate; each is then confirmed by its checksum. The
 * look-behind keeps a candidate from starting inside a word (a `-` before it is allowed: `t-u-…`,
 * `--key=tak-…`; the checksum rules out chance matches inside longer runs).
 */
const CANDIDATES = new RegExp(
  [
    `(?<![A-Za-z0-9_])(?:u|tak|tcs|trt|tri)-[A-Za-z0-9_-]{${BODY_LENGTH + CHECKSUM_LENGTH}}(?![A-Za-z0-9_-])`,
    `(?<![A-Za-z0-9_])(?:${DYNAMIC_PASSWORD_PREFIX}|${ROTATED_PASSWORD_PREFIX})[A-Za-z0-9]{28,124}(?![A-Za-z0-9])`,
    `(?<![A-Za-z0-9_-])tessera-share-[1-9][0-9]{0,2}-[1-9][0-9]{0,2}-[A-Za-z0-9_-]{13,411}-[0-9a-f]{8}(?![A-Za-z0-9_-])`,
    `(?<![A-Za-z0-9_-])(?:t-)?${SESSION_TOKEN_HEADER_PREFIX}[A-Za-z0-9_-]{2,200}\\.[A-Za-z0-9_-]{20,4000}\\.[A-Za-z0-9_-]{86}(?![A-Za-z0-9_-])`,
  ].join('|'),
  'g',
);

function digestOf(body: string): Uint8Array {
  return sha256(new TextEncoder().encode(body));
}

/** The 6-character base64url checksum of a `u-`/`tak-`/`tcs-`/`trt-`/`tri-` body (first 4 digest bytes). */
export function base64urlChecksum(body: string): string {
  const d = digestOf(body);
  const n = (d[0]! << 16) | (d[1]! << 8) | d[2]!;
  const m = d[3]!;
  return (
    B64URL[(n >> 18) & 63]! +
    B64URL[(n >> 12) & 63]! +
    B64URL[(n >> 6) & 63]! +
    B64URL[n & 63]! +
    B64URL[m >> 2]! +
    B64URL[(m & 3) << 4]!
  );
}

/** The 6-character base62 checksum of a dynamic password's body (first 4 digest bytes, big-endian). */
export function base62Checksum(body: string): string {
  const d = digestOf(body);
  let n = ((d[0]! << 24) >>> 0) + (d[1]! << 16) + (d[2]! << 8) + d[3]!;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = B62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function checkPrefixed(value: string): TesseraCredentialKind | null {
  const dash = value.indexOf('-');
  const kind = PREFIXED_KINDS[value.slice(0, dash + 1)];
  if (!kind) return null;
  const rest = value.slice(dash + 1);
  if (rest.length !== BODY_LENGTH + CHECKSUM_LENGTH || !/^[A-Za-z0-9_-]+$/.test(rest)) return null;
  return base64urlChecksum(rest.slice(0, BODY_LENGTH)) === rest.slice(BODY_LENGTH) ? kind : null;
}

function checkDynamicPassword(value: string, prefix = DYNAMIC_PASSWORD_PREFIX): boolean {
  if (!value.startsWith(prefix) || value.length < 32 || value.length > 128) return false;
  if (!/^[A-Za-z0-9]+$/.test(value)) return false;
  const body = value.slice(prefix.length, -CHECKSUM_LENGTH);
  return base62Checksum(body) === value.slice(-CHECKSUM_LENGTH);
}

function decodeBase64url(part: string): string | null {
  if (part.length % 4 === 1) return null;
  let bits = 0;
  let acc = 0;
  const bytes: number[] = [];
  for (const ch of part) {
    const v = B64URL.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

function parseObject(part: string): Record<string, unknown> | null {
  const text = decodeBase64url(part);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Offline shape check of a session token (the signature is checked by the server or against the JWKS). */
function checkSessionToken(value: string): boolean {
  const parts = value.split('.');
  if (parts.length !== 3 || parts[2]!.length !== 86) return false;
  const header = parseObject(parts[0]!);
  const payload = parseObject(parts[1]!);
  return (
    header !== null &&
    payload !== null &&
    header.alg === 'EdDSA' &&
    header.typ === 'at+jwt' &&
    typeof header.kid === 'string' &&
    typeof payload.jti === 'string' &&
    payload.jti.startsWith('s-') &&
    typeof payload.iss === 'string' &&
    typeof payload.sub === 'string' &&
    typeof payload.exp === 'number'
  );
}

/** The kind of a Tessera credential when `value` (the whole string) has one's shape and checksum. */
export function recogniseTesseraCredential(value: string): TesseraCredentialKind | null {
  if (value.length > 8192) return null;
  if (value.startsWith(DYNAMIC_PASSWORD_PREFIX))
    return checkDynamicPassword(value) ? 'dynamic_password' : null;
  if (value.startsWith(UNSEAL_SHARE_PREFIX))
    return SHARE_PATTERN.test(value) &&
      sha256Hex(`tessera-share-check:${value.slice(0, -9)}`).slice(0, 8) === value.slice(-8)
      ? 'unseal_share'
      : null;
  if (value.startsWith(ROTATED_PASSWORD_PREFIX))
    return checkDynamicPassword(value, ROTATED_PASSWORD_PREFIX) ? 'rotated_password' : null;
  const jwt = value.startsWith('t-') ? value.slice(2) : value;
  if (jwt.startsWith(SESSION_TOKEN_HEADER_PREFIX)) return checkSessionToken(jwt) ? 'session_token' : null;
  return checkPrefixed(value);
}

/** Every Tessera credential in `text`, in order, each confirmed by its checksum. */
export function findTesseraCredentials(text: string): FoundCredential[] {
  const found: FoundCredential[] = [];
  CANDIDATES.lastIndex = 0;
  for (let m = CANDIDATES.exec(text); m !== null; m = CANDIDATES.exec(text)) {
    const raw = m[0];
    const kind = recogniseTesseraCredential(raw);
    if (!kind) continue;
    const value = kind === 'session_token' && raw.startsWith('t-') ? raw.slice(2) : raw;
    found.push({ kind, value, index: m.index, length: raw.length });
  }
  return found;
}

/**
 * A form of a secret safe to print: its first characters (at most a quarter of it, and at most the
 * prefix plus four) and its length, never enough to use or guess it.
 */
export function maskSecret(value: string): string {
  const prefix = /^(?:t-|u-|tak-|tcs-|trt-|tri-|tdp1|trp1|tessera-share-)/.exec(value)?.[0] ?? '';
  const shown = Math.min(prefix.length + 4, Math.floor(value.length / 4));
  return `${value.slice(0, shown)}…(${value.length} chars)`;
}

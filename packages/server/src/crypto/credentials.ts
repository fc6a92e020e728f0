import { createHash, hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { AuditHasher, CredentialFactory } from '../core/shared/platform.port.js';
import { isDynamicPassword, isRotatedPassword } from './random-password.js';
import { isKeyShare } from './shamir.js';

/**
 * Bearer credential formats.
 *
 * `u-` + base64url(32 random bytes) + a 6-character checksum (base64url of the first 4 bytes of
 * SHA-256 over the body). The checksum lets a secret scanner recognise a Tessera token offline with
 * no false positives, and lets the server reject typos without a store look-up.
 */
const BODY_LENGTH = 43; // base64url of 32 bytes
const CHECKSUM_LENGTH = 6;
const UID_PREFIX = 'u-';
const ACCESS_KEY_PREFIX = 'tak-';
const TOKEN_BODY = /^[A-Za-z0-9_-]+$/;

/** Scanner pattern for UID tokens; confirm a match with {@link hasValidChecksum}. */
export const UID_TOKEN_PATTERN = /\bu-[A-Za-z0-9_-]{49}\b/g;

function checksum(body: string): string {
  return hash('sha256', body, 'buffer').subarray(0, 4).toString('base64url').slice(0, CHECKSUM_LENGTH);
}

function mint(prefix: string): string {
  const body = randomBytes(32).toString('base64url');
  return `${prefix}${body}${checksum(body)}`;
}

/** OAuth client secrets (`client_secret_basic`/`_post`): recognisable like the other credentials. */
export const CLIENT_SECRET_PREFIX = 'tcs-';
export const newClientSecret = () => mint(CLIENT_SECRET_PREFIX);
/** RFC 7592 registration access tokens of dynamically registered OAuth clients. */
export const REGISTRATION_TOKEN_PREFIX = 'trt-';
export const newRegistrationAccessToken = () => mint(REGISTRATION_TOKEN_PREFIX);
/**
 * RFC 7591 initial access tokens an administrator issues for dynamic registration under a path
 * (`tessera oauth-client registration-token create`, ADR 0047).
 */
export const INITIAL_ACCESS_TOKEN_PREFIX = 'tri-';
export const newInitialAccessToken = () => mint(INITIAL_ACCESS_TOKEN_PREFIX);

/** True when `token` is `<prefix><43 chars><checksum>` and the checksum matches. */
export function hasValidChecksum(token: string, prefix: string = UID_PREFIX): boolean {
  if (token.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH || !token.startsWith(prefix))
    return false;
  const rest = token.slice(prefix.length);
  if (!TOKEN_BODY.test(rest)) return false;
  const body = rest.slice(0, BODY_LENGTH);
  return rest.slice(BODY_LENGTH) === checksum(body);
}

/** SHA-256 hex digest. Enough for 256-bit random bearer tokens (DESIGN §2); never for passwords. */
export function sha256Hex(value: string | Uint8Array): string {
  // One-shot `crypto.hash`: no Hash object per call (twice per UID exchange, ADR 0055).
  return typeof value === 'string'
    ? hash('sha256', value, 'hex')
    : createHash('sha256').update(value).digest('hex');
}

/** SHA-256, base64url (no padding): how arguments are bound to an approval (approvals contract). */
export function sha256Base64Url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

const NODE_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * Identifiers (not credentials) draw from a pooled buffer: one `randomFillSync` per 4 KiB instead
 * of one per id, which matters on the session-token path (a `jti` per token).
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomString(length: number, alphabet: string): string {
  if (poolOffset + length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[pool[poolOffset + i]! & 31];
  poolOffset += length;
  return out;
}

/** The production {@link CredentialFactory}. */
export function createCredentialFactory(auditHasher: AuditHasher): CredentialFactory {
  return {
    auditRef: (credential) => auditHasher.hash(credential),
    newUidToken: () => mint(UID_PREFIX),
    newAccessKey: () => mint(ACCESS_KEY_PREFIX),
    isWellFormedUidToken: (token) => hasValidChecksum(token, UID_PREFIX),
    hashCredential: (token) => sha256Hex(token),
    equalHashes: (a, b) => {
      const x = Buffer.from(a, 'hex');
      const y = Buffer.from(b, 'hex');
      return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
    },
    newId: (prefix, length = 20) => `${prefix}${randomString(length, NODE_ID_ALPHABET)}`,
    newNodeId: () => randomString(12, NODE_ID_ALPHABET),
  };
}

/** base64url of `{"alg":"EdDSA","typ":"at+jwt","kid":`: how every session token Tessera signs starts. */
const SESSION_TOKEN_START = 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6';

/** The kinds of credential Tessera issues, each with an offline-recognisable shape (ADR 0020). */
export type CredentialKind =
  | 'uid_token'
  | 'access_key'
  | 'client_secret'
  | 'registration_token'
  | 'initial_access_token'
  | 'session_token'
  | 'dynamic_password'
  | 'rotated_password'
  | 'unseal_share';

const PREFIXED: ReadonlyArray<[string, CredentialKind]> = [
  [UID_PREFIX, 'uid_token'],
  [ACCESS_KEY_PREFIX, 'access_key'],
  [CLIENT_SECRET_PREFIX, 'client_secret'],
  [REGISTRATION_TOKEN_PREFIX, 'registration_token'],
  [INITIAL_ACCESS_TOKEN_PREFIX, 'initial_access_token'],
];

/**
 * The kind of a Tessera credential when `value` has its shape and checksum, else null. The same
 * rules as the SDK's `recogniseTesseraCredential` (a test holds them together); a session token's
 * shape is its fixed header and three parts, its signature is checked by the sessions service.
 */
export function credentialKindOf(value: string): CredentialKind | null {
  for (const [prefix, kind] of PREFIXED) if (hasValidChecksum(value, prefix)) return kind;
  if (isDynamicPassword(value)) return 'dynamic_password';
  if (isRotatedPassword(value)) return 'rotated_password';
  if (isKeyShare(value)) return 'unseal_share';
  const jwt = value.startsWith('t-') ? value.slice(2) : value;
  if (jwt.startsWith(SESSION_TOKEN_START) && jwt.length <= 4096 && /^[\w-]+\.[\w-]+\.[\w-]{86}$/.test(jwt))
    return 'session_token';
  return null;
}

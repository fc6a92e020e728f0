import { constants, createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

/**
 * Synchronous compact-JWS verification with `node:crypto` for the OAuth hot path (ADR 0014):
 * client assertions and DPoP proofs are verified by one-shot `crypto.verify` on cached public
 * `KeyObject`s, with no thread-pool hop (WebCrypto, as `jose` uses it, hops twice per request).
 * It implements only what those two callers need — the JWT profile `jose`'s `jwtVerify` applies
 * (RFC 7515 compact form, RFC 7519 claims) — and throws a `JwsError` with a closed reason.
 */

export type JwsAlgorithm = 'ES256' | 'PS256' | 'RS256' | 'EdDSA' | 'Ed25519';

export type JwsErrorReason =
  | 'malformed'
  | 'alg_not_allowed'
  | 'no_matching_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid';

export class JwsError extends Error {
  constructor(readonly reason: JwsErrorReason) {
    super(reason);
  }
}

export interface PublicJwk {
  kty?: unknown;
  crv?: unknown;
  x?: unknown;
  y?: unknown;
  n?: unknown;
  e?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

export interface DecodedJws {
  /** Shared between JWSs with the same header (see `headerOf`): read it, never change it. */
  header: Readonly<Record<string, unknown>>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

function jsonObject(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwsError('malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JwsError('malformed');
  return value as Record<string, unknown>;
}

/**
 * Decoded protected headers, by their encoded segment (bounded; the oldest goes first): a client
 * sends the same header with every assertion, and a DPoP key the same header (its `jwk`) with
 * every proof. Frozen, as every caller shares them.
 */
const headers = new Map<string, Readonly<Record<string, unknown>>>();
const MAX_CACHED_HEADER_CHARS = 2048;

function headerOf(segment: string): Readonly<Record<string, unknown>> {
  let header = headers.get(segment);
  if (header === undefined) {
    const decoded = jsonObject(segment);
    for (const value of Object.values(decoded))
      if (typeof value === 'object' && value !== null) Object.freeze(value);
    header = Object.freeze(decoded);
    if (segment.length <= MAX_CACHED_HEADER_CHARS) {
      if (headers.size >= 1000) headers.delete(headers.keys().next().value as string);
      headers.set(segment, header);
    }
  }
  return header;
}

/**
 * Splits and decodes a compact JWS whose payload is a JSON object (a JWT); no signature check.
 * `alg` must be a string; whether it is allowed is the caller's check (`algorithmAllowed`).
 */
export function decodeJws(token: string): DecodedJws {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwsError('malformed');
  const [h, p, s] = parts as [string, string, string];
  if (!h || !p || !s || !SEGMENT.test(h) || !SEGMENT.test(p) || !SEGMENT.test(s))
    throw new JwsError('malformed');
  const header = headerOf(h);
  // No extension is understood (RFC 7515 §4.1.11), so any `crit` refuses the JWS; an unencoded
  // payload (RFC 7797 `b64: false`) is never a JWT.
  if (header.crit !== undefined || header.b64 !== undefined) throw new JwsError('malformed');
  if (typeof header.alg !== 'string') throw new JwsError('malformed');
  const payload = jsonObject(p);
  return {
    header,
    payload,
    signingInput: Buffer.from(`${h}.${p}`, 'ascii'),
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Whether a JWK of a key set may verify `alg`: its own `alg`, `use`, `key_ops`, as jose's JWK set. */
export function keyFitsAlgorithm(jwk: PublicJwk, alg: string): boolean {
  if (typeof jwk.alg === 'string' && jwk.alg !== alg) return false;
  if (typeof jwk.use === 'string' && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  return keyTypeFits(jwk, alg);
}

/** Whether a key's type and curve suit `alg` (RFC 7518 §3.1, RFC 8037, RFC 9864 for `Ed25519`). */
export function keyTypeFits(jwk: PublicJwk, alg: string): boolean {
  switch (alg) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'RS256':
    case 'PS256':
      return jwk.kty === 'RSA';
    case 'Ed25519':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    case 'EdDSA':
      return jwk.kty === 'OKP' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448');
    default:
      return false;
  }
}

/** Imported public keys, by the JWK's JSON (bounded; the oldest goes first). */
const keyObjects = new Map<string, KeyObject | null>();
/**
 * The same, by the JWK object: a registered client's key set is one object for as long as the
 * auth method cache holds it, so its keys are found without serialising them. The members the key
 * is made of are kept beside it and compared, in case the object was changed in place.
 */
const keyObjectsByJwk = new WeakMap<object, { members: unknown[]; key: KeyObject | null }>();
const keyMembers = (jwk: PublicJwk) => [jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e];
function keyObjectOf(jwk: PublicJwk): KeyObject | null {
  const known = keyObjectsByJwk.get(jwk);
  const members = keyMembers(jwk);
  if (known?.members.every((m, i) => m === members[i])) return known.key;
  const key = keyObjectByJson(jwk);
  keyObjectsByJwk.set(jwk, { members, key });
  return key;
}
function keyObjectByJson(jwk: PublicJwk): KeyObject | null {
  const id = JSON.stringify(jwk);
  let key = keyObjects.get(id);
  if (key === undefined) {
    try {
      const { kty, crv, x, y, n, e } = jwk as Record<string, string>;
      key = createPublicKey({ key: { kty, crv, x, y, n, e } as never, format: 'jwk' });
      // RFC 7518 §3.3 and §3.5: RSA keys of at least 2048 bits.
      if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
        key = null;
    } catch {
      key = null;
    }
    if (keyObjects.size >= 10_000) keyObjects.delete(keyObjects.keys().next().value as string);
    keyObjects.set(id, key);
  }
  return key;
}

/** The public key of a JWK that suits `alg`, imported once; null when it does not import or suit. */
export function usableKey(jwk: PublicJwk, alg: string): KeyObject | null {
  return keyTypeFits(jwk, alg) ? keyObjectOf(jwk) : null;
}

/** Whether the decoded JWS's signature is valid under `key` (from `usableKey` for its `alg`). */
export function signatureValid(jws: DecodedJws, key: KeyObject): boolean {
  const alg = jws.header.alg as string;
  try {
    switch (alg) {
      case 'EdDSA':
      case 'Ed25519':
        return verify(null, jws.signingInput, key, jws.signature);
      case 'ES256':
        return (
          jws.signature.length === 64 &&
          verify('sha256', jws.signingInput, { key, dsaEncoding: 'ieee-p1363' }, jws.signature)
        );
      case 'RS256':
        return verify('sha256', jws.signingInput, key, jws.signature);
      case 'PS256':
        return verify(
          'sha256',
          jws.signingInput,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          jws.signature,
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Verifies a JWS against a key set as `jose`'s local JWK set does: candidates are the keys that fit
 * the header's `alg` and, when the header names a `kid`, carry it; the first that verifies wins.
 */
export function verifyWithKeySet(jws: DecodedJws, keys: readonly PublicJwk[]): void {
  const kid = jws.header.kid;
  const candidates = keys.filter(
    (k) => (kid === undefined || k.kid === kid) && keyFitsAlgorithm(k, jws.header.alg as string),
  );
  if (candidates.length === 0) throw new JwsError('no_matching_key');
  for (const candidate of candidates) {
    const key = keyObjectOf(candidate);
    if (!key) throw new JwsError('malformed');
    if (signatureValid(jws, key)) return;
  }
  throw new JwsError('bad_signature');
}

/**
 * RFC 7519 §4.1.4–4.1.6 on a payload, as `jwtVerify` checks them: `exp`, `nbf` and `iat`, when
 * present, must be numbers; `exp` must be in the future and `nbf` in the past (with tolerance).
 */
export function checkTimeClaims(
  payload: Record<string, unknown>,
  nowSeconds: number,
  toleranceSeconds: number,
) {
  for (const claim of ['exp', 'nbf', 'iat'] as const)
    if (
      payload[claim] !== undefined &&
      (typeof payload[claim] !== 'number' || !Number.isFinite(payload[claim]))
    )
      throw new JwsError('malformed');
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds + toleranceSeconds)
    throw new JwsError('not_yet_valid');
  if (typeof payload.exp === 'number' && payload.exp <= nowSeconds - toleranceSeconds)
    throw new JwsError('expired');
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public EC, RSA or OKP key. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'RSA'
        ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

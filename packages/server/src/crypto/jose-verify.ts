import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { DpopProofVerifier } from '../core/sessions/sessions.model.js';

/**
 * JWS verification for the OAuth authorization server (issue 12), the only place besides the
 * keyring that touches JOSE: client assertions (RFC 7523 §3) and DPoP proofs (RFC 9449 §4.3).
 * Everything here returns a closed reason on failure, never throws on bad input.
 */

/** Client keys and DPoP keys: asymmetric only (RFC 9449 §4.3 point 5; RFC 7523 private_key_jwt). */
export const ASYMMETRIC_ALGORITHMS = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'] as const;

/** Members only a private (or symmetric) JWK has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KEY_SHAPES: Record<string, string[]> = { EC: ['crv', 'x', 'y'], RSA: ['n', 'e'], OKP: ['crv', 'x'] };

/** Why a JWK set is refused, or null when every key is a well-formed public key. */
export function publicJwksProblem(jwks: unknown): string | null {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))
    return 'jwks must be an object with a keys array';
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > 10) return 'jwks must hold between 1 and 10 keys';
  for (const key of keys) {
    if (typeof key !== 'object' || key === null) return 'each key must be an object';
    const k = key as Record<string, unknown>;
    const privateMember = PRIVATE_MEMBERS.find((m) => m in k);
    if (privateMember) return `keys must be public: member "${privateMember}" is not allowed`;
    const shape = typeof k.kty === 'string' ? KEY_SHAPES[k.kty] : undefined;
    if (!shape) return 'kty must be EC, RSA or OKP';
    const missing = shape.find((m) => typeof k[m] !== 'string');
    if (missing) return `a ${k.kty} key needs "${missing}"`;
    if (k.alg !== undefined && !(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(k.alg))
      return `alg must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`;
    if (JSON.stringify(k).length > 4096) return 'a key is too large';
  }
  return null;
}

/** A bounded cache (insertion order; the oldest entry goes first). */
function boundedCache<V>(limit: number) {
  const map = new Map<string, V>();
  return {
    get: (key: string) => map.get(key),
    set(key: string, value: V) {
      if (map.size >= limit) map.delete(map.keys().next().value as string);
      map.set(key, value);
    },
  };
}

/** Imported client key sets, by their JSON: a client's keys are imported once, not per request. */
const keySets = boundedCache<JWTVerifyGetKey>(1000);
function keySetOf(jwks: { keys: JWK[] }): JWTVerifyGetKey {
  const id = JSON.stringify(jwks);
  let set = keySets.get(id);
  if (!set) {
    set = createLocalJWKSet(jwks);
    keySets.set(id, set);
  }
  return set;
}

/** Imported DPoP public keys with their thumbprints, by the JWK's JSON and the algorithm. */
const proofKeys = boundedCache<Promise<{ key: Awaited<ReturnType<typeof importJWK>>; jkt: string }>>(10_000);
function proofKeyOf(jwk: JWK, alg: string) {
  const id = `${alg}:${JSON.stringify(jwk)}`;
  let entry = proofKeys.get(id);
  if (!entry) {
    entry = Promise.all([importJWK({ ...jwk, ext: true }, alg), calculateJwkThumbprint(jwk, 'sha256')]).then(
      ([key, jkt]) => ({ key, jkt }),
    );
    // A key that does not import is not cached (it is refused, and may not be retried cheaply).
    entry.catch(() => undefined);
    proofKeys.set(id, entry);
  }
  return entry;
}

/**
 * The one-time key that makes a verified JWT single-use (RFC 7523 §3 point 7, RFC 9449 §11.1): the
 * caller consumes it, in the transaction that acts on the JWT, and refuses the JWT if it was spent.
 */
export interface ReplayKey {
  key: string;
  ttlSeconds: number;
}

export type AssertionFailure =
  | 'assertion_malformed'
  | 'assertion_alg_not_allowed'
  | 'assertion_unknown_key'
  | 'assertion_bad_signature'
  | 'assertion_expired'
  | 'assertion_lifetime_too_long'
  | 'assertion_wrong_audience'
  | 'assertion_wrong_issuer'
  | 'assertion_missing_claim'
  | 'assertion_replayed';

/** RFC 7523 §3 for `private_key_jwt`; `consume` makes the `jti` single-use across servers. */
export async function verifyClientAssertion(
  assertion: string,
  expected: {
    clientId: string;
    jwks: { keys: JWK[] };
    /** Accepted `aud` values: the issuer and the token endpoint URL. */
    audiences: readonly string[];
    nowMs: number;
    maxLifetimeSeconds: number;
    clockToleranceSeconds: number;
  },
): Promise<{ ok: true; replay: ReplayKey } | { ok: false; reason: AssertionFailure }> {
  if (assertion.length > 8192) return { ok: false, reason: 'assertion_malformed' };
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(assertion, keySetOf(expected.jwks), {
      algorithms: [...ASYMMETRIC_ALGORITHMS],
      issuer: expected.clientId,
      subject: expected.clientId,
      audience: [...expected.audiences],
      currentDate: new Date(expected.nowMs),
      clockTolerance: expected.clockToleranceSeconds,
      requiredClaims: ['exp', 'jti'],
    });
    payload = verified.payload as Record<string, unknown>;
  } catch (error) {
    return { ok: false, reason: assertionReason(error) };
  }
  const now = expected.nowMs / 1000;
  const exp = payload.exp as number;
  if (exp - now > expected.maxLifetimeSeconds + expected.clockToleranceSeconds)
    return { ok: false, reason: 'assertion_lifetime_too_long' };
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
    return { ok: false, reason: 'assertion_missing_claim' };
  const ttlSeconds = Math.ceil(exp - now) + expected.clockToleranceSeconds + 1;
  return { ok: true, replay: { key: `oauth-assertion:${expected.clientId}:${jti}`, ttlSeconds } };
}

function assertionReason(error: unknown): AssertionFailure {
  if (error instanceof errors.JWTExpired) return 'assertion_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'assertion_wrong_audience';
    if (error.claim === 'iss' || error.claim === 'sub') return 'assertion_wrong_issuer';
    if (error.reason === 'missing') return 'assertion_missing_claim';
    return 'assertion_malformed';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'assertion_alg_not_allowed';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return 'assertion_unknown_key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'assertion_bad_signature';
  return 'assertion_malformed';
}

export type DpopFailure =
  | 'malformed'
  | 'bad_typ'
  | 'alg_not_allowed'
  | 'bad_jwk'
  | 'bad_signature'
  | 'htm_mismatch'
  | 'htu_mismatch'
  | 'iat_out_of_window'
  | 'ath_mismatch'
  | 'nonce_required'
  | 'replayed';

export interface DpopCheck {
  method: string;
  /** The URLs the proof may name (`htu`), without query or fragment. */
  urls: readonly string[];
  /** The access token presented with the proof (then `ath` is required). */
  accessToken?: string | undefined;
  nowMs: number;
  /** When given, the proof must carry a nonce this accepts (RFC 9449 §8). */
  nonceValid?: ((nonce: string) => boolean) | undefined;
}

/** SHA-256 of an access token, base64url (the proof's `ath`). */
export const accessTokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * A DPoP proof checker (RFC 9449 §4.3). `check` verifies and returns the proof's replay key for the
 * caller to consume; the sessions port consumes it at once with `consume`.
 */
export function createDpopVerifier(deps: {
  consume(key: string, ttlSeconds: number): Promise<boolean>;
  /** How far `iat` may be from now, either way. */
  iatWindowSeconds?: number;
}) {
  const window = deps.iatWindowSeconds ?? 60;
  async function check(
    proof: string,
    expected: DpopCheck,
  ): Promise<{ ok: true; jkt: string; replay: ReplayKey } | { ok: false; reason: DpopFailure }> {
    if (proof.length > 8192 || proof.split('.').length !== 3) return { ok: false, reason: 'malformed' };
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(proof) as Record<string, unknown>;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (header.typ !== 'dpop+jwt') return { ok: false, reason: 'bad_typ' };
    if (!(ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(header.alg))
      return { ok: false, reason: 'alg_not_allowed' };
    const jwk = header.jwk;
    if (typeof jwk !== 'object' || jwk === null || publicJwksProblem({ keys: [jwk] }) !== null)
      return { ok: false, reason: 'bad_jwk' };
    let payload: Record<string, unknown>;
    let jkt: string;
    try {
      const imported = await proofKeyOf(jwk as JWK, header.alg as string);
      jkt = imported.jkt;
      const verified = await jwtVerify(proof, imported.key, {
        typ: 'dpop+jwt',
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        currentDate: new Date(expected.nowMs),
      });
      payload = verified.payload as Record<string, unknown>;
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed)
        return { ok: false, reason: 'bad_signature' };
      if (error instanceof errors.JOSEAlgNotAllowed) return { ok: false, reason: 'alg_not_allowed' };
      return { ok: false, reason: 'malformed' };
    }
    if (typeof payload.htm !== 'string' || payload.htm !== expected.method)
      return { ok: false, reason: 'htm_mismatch' };
    if (typeof payload.htu !== 'string' || !expected.urls.includes(withoutQuery(payload.htu)))
      return { ok: false, reason: 'htu_mismatch' };
    const iat = payload.iat;
    if (typeof iat !== 'number' || Math.abs(iat - expected.nowMs / 1000) > window)
      return { ok: false, reason: 'iat_out_of_window' };
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)
      return { ok: false, reason: 'malformed' };
    if (expected.accessToken !== undefined && payload.ath !== accessTokenHash(expected.accessToken))
      return { ok: false, reason: 'ath_mismatch' };
    if (expected.nonceValid && (typeof payload.nonce !== 'string' || !expected.nonceValid(payload.nonce)))
      return { ok: false, reason: 'nonce_required' };
    return { ok: true, jkt, replay: { key: `dpop:${jkt}:${payload.jti}`, ttlSeconds: window * 2 + 1 } };
  }

  /** The sessions service's port: a proof presented with an access token on Tessera's API. */
  const port: DpopProofVerifier = {
    async verify(proof, request) {
      const checked = await check(proof, {
        method: request.method,
        urls: [withoutQuery(request.url)],
        accessToken: request.accessToken,
        nowMs: request.nowMs,
      });
      if (!checked.ok) return checked;
      if (!(await deps.consume(checked.replay.key, checked.replay.ttlSeconds)))
        return { ok: false, reason: 'replayed' };
      return { ok: true, jkt: checked.jkt };
    },
  };
  return { check, port };
}

function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

export type DpopVerifier = ReturnType<typeof createDpopVerifier>;

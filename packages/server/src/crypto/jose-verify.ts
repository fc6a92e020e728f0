import { createHash, type KeyObject } from 'node:crypto';
import type { DpopProofVerifier } from '../core/sessions/sessions.model.js';
import {
  checkTimeClaims,
  decodeJws,
  JwsError,
  jwkThumbprint,
  type PublicJwk,
  signatureValid,
  usableKey,
  verifyWithKeySet,
} from './jws-verify.js';

type JWK = PublicJwk & Record<string, unknown>;

/**
 * JWS verification for the OAuth authorization server (issue 12), the only place besides the
 * keyring that touches JOSE: client assertions (RFC 7523 §3) and DPoP proofs (RFC 9449 §4.3).
 * Everything here returns a closed reason on failure, never throws on bad input.
 */

/** Client keys and DPoP keys: asymmetric only (RFC 9449 §4.3 point 5; RFC 7523 private_key_jwt). */
export const ASYMMETRIC_ALGORITHMS = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'] as const;

const algorithmAllowed = (alg: unknown) => (ASYMMETRIC_ALGORITHMS as readonly unknown[]).includes(alg);

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

/** DPoP key thumbprints, by the JWK's JSON (bounded; the oldest goes first). */
const thumbprints = new Map<string, string>();
function thumbprintOf(jwk: JWK): string {
  const id = JSON.stringify(jwk);
  let jkt = thumbprints.get(id);
  if (jkt === undefined) {
    jkt = jwkThumbprint(jwk);
    if (thumbprints.size >= 10_000) thumbprints.delete(thumbprints.keys().next().value as string);
    thumbprints.set(id, jkt);
  }
  return jkt;
}

/**
 * A DPoP proof's key and its thumbprint, from its header's `jwk` (RFC 9449 §4.3 points 5–6), or
 * why there is none. Remembered per decoded header, which `decodeJws` shares between the proofs
 * of one key.
 */
type ProofKey = { key: KeyObject; jkt: string } | 'bad_jwk' | 'malformed';
const proofKeys = new WeakMap<object, ProofKey>();
function proofKeyOf(header: Readonly<Record<string, unknown>>): ProofKey {
  let found = proofKeys.get(header);
  if (found === undefined) {
    const jwk = header.jwk;
    if (typeof jwk !== 'object' || jwk === null || publicJwksProblem({ keys: [jwk] }) !== null)
      found = 'bad_jwk';
    else {
      const key = usableKey(jwk as JWK, header.alg as string);
      found = key ? { key, jkt: thumbprintOf(jwk as JWK) } : 'malformed';
    }
    proofKeys.set(header, found);
  }
  return found;
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
    const jws = decodeJws(assertion);
    if (!algorithmAllowed(jws.header.alg)) return { ok: false, reason: 'assertion_alg_not_allowed' };
    verifyWithKeySet(jws, expected.jwks.keys);
    payload = jws.payload;
    // The claim checks of jose's jwtVerify, in its order: presence, iss, sub, aud, then time.
    for (const claim of ['exp', 'jti', 'iss', 'sub', 'aud'] as const)
      if (payload[claim] === undefined)
        return {
          ok: false,
          reason:
            claim === 'iss' || claim === 'sub'
              ? 'assertion_wrong_issuer'
              : claim === 'aud'
                ? 'assertion_wrong_audience'
                : 'assertion_missing_claim',
        };
    if (payload.iss !== expected.clientId || payload.sub !== expected.clientId)
      return { ok: false, reason: 'assertion_wrong_issuer' };
    const aud = payload.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => typeof a === 'string' && expected.audiences.includes(a)))
      return { ok: false, reason: 'assertion_wrong_audience' };
    checkTimeClaims(payload, Math.floor(expected.nowMs / 1000), expected.clockToleranceSeconds);
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

export type GrantAssertionFailure =
  | 'malformed'
  | 'alg_not_allowed'
  | 'untrusted_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_long'
  | 'wrong_audience'
  | 'missing_claim';

/**
 * RFC 7523 §3 for the JWT-bearer grant (§2.1): an assertion from one of the client's trusted
 * issuers, signed by that issuer's key, for this server (`aud`), with `sub`, a bounded `exp` and a
 * `jti` the caller makes single-use (`replay`).
 */
export async function verifyGrantAssertion(
  assertion: string,
  expected: {
    issuers: readonly { issuer: string; jwks: { keys: JWK[] } }[];
    audiences: readonly string[];
    nowMs: number;
    maxLifetimeSeconds: number;
    clockToleranceSeconds: number;
  },
): Promise<
  | { ok: true; issuer: string; subject: string; replay: ReplayKey }
  | { ok: false; reason: GrantAssertionFailure }
> {
  if (assertion.length > 8192) return { ok: false, reason: 'malformed' };
  try {
    const jws = decodeJws(assertion);
    if (!algorithmAllowed(jws.header.alg)) return { ok: false, reason: 'alg_not_allowed' };
    const p = jws.payload;
    const trusted = expected.issuers.find((i) => i.issuer === p.iss);
    if (!trusted) return { ok: false, reason: 'untrusted_issuer' };
    verifyWithKeySet(jws, trusted.jwks.keys);
    for (const claim of ['sub', 'aud', 'exp', 'jti'] as const)
      if (p[claim] === undefined) return { ok: false, reason: 'missing_claim' };
    const audiences = typeof p.aud === 'string' ? [p.aud] : Array.isArray(p.aud) ? p.aud : [];
    if (!audiences.some((a) => typeof a === 'string' && expected.audiences.includes(a)))
      return { ok: false, reason: 'wrong_audience' };
    const now = Math.floor(expected.nowMs / 1000);
    checkTimeClaims(p, now, expected.clockToleranceSeconds);
    const exp = p.exp as number;
    if (exp - now > expected.maxLifetimeSeconds + expected.clockToleranceSeconds)
      return { ok: false, reason: 'lifetime_too_long' };
    if (typeof p.sub !== 'string' || p.sub.length === 0 || p.sub.length > 256)
      return { ok: false, reason: 'missing_claim' };
    if (typeof p.jti !== 'string' || p.jti.length === 0 || p.jti.length > 256)
      return { ok: false, reason: 'missing_claim' };
    const ttlSeconds = Math.ceil(exp - now) + expected.clockToleranceSeconds + 1;
    return {
      ok: true,
      issuer: trusted.issuer,
      subject: p.sub,
      replay: { key: `oauth-grant-assertion:${trusted.issuer}:${p.jti}`, ttlSeconds },
    };
  } catch (error) {
    if (!(error instanceof JwsError)) return { ok: false, reason: 'malformed' };
    if (error.reason === 'no_matching_key') return { ok: false, reason: 'unknown_key' };
    return { ok: false, reason: error.reason };
  }
}

function assertionReason(error: unknown): AssertionFailure {
  if (!(error instanceof JwsError)) return 'assertion_malformed';
  switch (error.reason) {
    case 'expired':
      return 'assertion_expired';
    case 'alg_not_allowed':
      return 'assertion_alg_not_allowed';
    case 'no_matching_key':
      return 'assertion_unknown_key';
    case 'bad_signature':
      return 'assertion_bad_signature';
    default:
      return 'assertion_malformed';
  }
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
    if (proof.length > 8192) return { ok: false, reason: 'malformed' };
    let jws: ReturnType<typeof decodeJws>;
    try {
      jws = decodeJws(proof);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const { header, payload } = jws;
    if (header.typ !== 'dpop+jwt') return { ok: false, reason: 'bad_typ' };
    if (!algorithmAllowed(header.alg)) return { ok: false, reason: 'alg_not_allowed' };
    const proofKey = proofKeyOf(header);
    if (proofKey === 'bad_jwk' || proofKey === 'malformed') return { ok: false, reason: proofKey };
    const { key, jkt } = proofKey;
    if (!signatureValid(jws, key)) return { ok: false, reason: 'bad_signature' };
    try {
      checkTimeClaims(payload, Math.floor(expected.nowMs / 1000), 0);
    } catch {
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

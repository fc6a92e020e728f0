/**
 * Local verification of Tessera session tokens (RFC 9068 JWT access tokens, EdDSA/Ed25519) with
 * WebCrypto only. Keys come from the server's JWKS (cached, refetched on an unknown `kid`), and
 * verified tokens are cached until they expire, so a repeated token costs one map look-up.
 *
 * What a local verifier cannot see: revocation. A revoked token stays valid here until it expires;
 * resource servers that need instant revocation should also ask the server.
 *
 * @packageDocumentation
 */

import type { FetchLike } from './client.js';
import { certificateThumbprint, type SenderProof, verifyDpopProof } from './dpop.js';
import { type Ed25519PublicKey, importEd25519PublicKey } from './ed25519.js';
import { TesseraNetworkError, TesseraTokenError } from './errors.js';
import type { Jwk, Jwks } from './wire.js';

/** The claims of a verified session token. */
export interface SessionTokenClaims {
  /** The identity id. */
  sub: string;
  /** The auth method (access id `p-…`) the session came from. */
  am: string;
  /** RFC 9068 client id (the credential's client). */
  client_id: string;
  /** The UID node id, when the session came from a UID token. */
  uid?: string;
  /** The UID node's path (materialised path of ancestors), when the session came from a UID token. */
  uidp?: string;
  exp: number;
  iat: number;
  nbf?: number;
  jti: string;
  iss: string;
  aud: string | string[];
  /** Sender constraint (DPoP `jkt`, mTLS `x5t#S256`). */
  cnf?: Record<string, unknown>;
  /** Delegation chain (RFC 8693). */
  act?: Record<string, unknown>;
  scope?: string;
  [claim: string]: unknown;
}

/** Options of {@link SessionTokenVerifier}: give `jwksUrl` or a static `jwks`. */
export interface SessionTokenVerifierOptions {
  /** Where to fetch keys, e.g. `http://127.0.0.1:8377/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** A fixed key set (no fetching). */
  jwks?: Jwks;
  /** Expected `iss`; not checked when omitted. */
  issuer?: string;
  /** Accepted audience(s): the token's `aud` must contain at least one. */
  audience: string | string[];
  /** Wall clock in epoch ms; default `Date.now`. */
  clock?: () => number;
  /** `fetch` for the JWKS; default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds; default 5. */
  clockToleranceSeconds?: number;
  /** How long a fetched JWKS is used before it is refreshed, in ms; default 300 000. */
  jwksTtlMs?: number;
  /** Minimum time between refetches caused by unknown `kid`s, in ms; default 30 000. */
  jwksRefetchIntervalMs?: number;
  /** JWKS fetch timeout in ms; default 5 000. */
  jwksTimeoutMs?: number;
  /** Maximum number of verified tokens remembered; default 10 000. */
  maxCachedTokens?: number;
  /** How far a DPoP proof's `iat` may be from now, either way, in seconds; default 60. */
  dpopIatWindowSeconds?: number;
}

const MAX_TOKEN_LENGTH = 16_384;
const ACCEPTED_TYP = new Set(['at+jwt', 'application/at+jwt']);
/** `EdDSA` (RFC 8037) and the fully-specified `Ed25519` both mean Ed25519 here. */
const ACCEPTED_ALG = new Set(['EdDSA', 'Ed25519']);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextEncoder();

/** Verifies Tessera session tokens locally. Create one per audience and reuse it. */
export class SessionTokenVerifier {
  readonly #jwksUrl: string | undefined;
  readonly #staticJwks: Jwks | undefined;
  readonly #issuer: string | undefined;
  readonly #audiences: ReadonlySet<string>;
  readonly #clock: () => number;
  readonly #fetch: FetchLike | undefined;
  readonly #leewaySeconds: number;
  readonly #jwksTtlMs: number;
  readonly #refetchIntervalMs: number;
  readonly #jwksTimeoutMs: number;
  readonly #maxCached: number;
  readonly #verified = new Map<string, SessionTokenClaims>();
  readonly #dpopWindow: number;
  /** DPoP proofs seen (`jkt:jti` → forget after), so that each is accepted once. */
  readonly #proofsSeen = new Map<string, number>();
  #keys = new Map<string, Ed25519PublicKey>();
  #keysLoadedAt = Number.NEGATIVE_INFINITY;
  #lastFetchAt = Number.NEGATIVE_INFINITY;
  #keysInflight: Promise<void> | undefined;

  /** @param options - see {@link SessionTokenVerifierOptions} */
  constructor(options: SessionTokenVerifierOptions) {
    if (!options.jwksUrl && !options.jwks) throw new TypeError('SessionTokenVerifier needs jwksUrl or jwks');
    const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
    if (audiences.length === 0) throw new TypeError('SessionTokenVerifier needs at least one audience');
    this.#jwksUrl = options.jwksUrl;
    this.#staticJwks = options.jwks;
    this.#issuer = options.issuer;
    this.#audiences = new Set(audiences);
    this.#clock = options.clock ?? Date.now;
    this.#fetch = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
    this.#leewaySeconds = options.clockToleranceSeconds ?? 5;
    this.#jwksTtlMs = options.jwksTtlMs ?? 300_000;
    this.#refetchIntervalMs = options.jwksRefetchIntervalMs ?? 30_000;
    this.#jwksTimeoutMs = options.jwksTimeoutMs ?? 5_000;
    this.#maxCached = options.maxCachedTokens ?? 10_000;
    this.#dpopWindow = options.dpopIatWindowSeconds ?? 60;
  }

  /**
   * Verifies a session token (`<jwt>` or `t-<jwt>`) and returns its claims. A DPoP-bound token
   * (`cnf.jkt`, RFC 9449) needs `sender` with the request's `DPoP` proof of that key, and a
   * certificate-bound one (`cnf.x5t#S256`, RFC 8705) `sender.clientCertificate`, the TLS client
   * certificate it is bound to: a stolen sender-constrained token is worthless without its key.
   *
   * @throws {@link TesseraTokenError} `TESSERA_TOKEN_INVALID` or `TESSERA_TOKEN_EXPIRED`
   * @throws {@link TesseraNetworkError} when no keys could be fetched at all
   */
  async verify(token: string, sender?: SenderProof): Promise<SessionTokenClaims> {
    const claims = await this.#verifyToken(token);
    const cnf = claims.cnf;
    if (cnf === undefined) return claims;
    if (cnf['x5t#S256'] !== undefined) {
      // RFC 8705 §3: worthless without the TLS client certificate it is bound to.
      if (!sender?.clientCertificate)
        throw invalid('The token is bound to a client certificate: the request has none.');
      if ((await certificateThumbprint(sender.clientCertificate)) !== cnf['x5t#S256'])
        throw invalid('The client certificate is not the one the token is bound to.');
      if (cnf.jkt === undefined) return claims;
    }
    if (typeof cnf.jkt !== 'string') throw invalid('The token has an unsupported cnf.');
    if (!sender?.dpopProof) throw invalid('The token is DPoP-bound: the request has no DPoP proof.');
    const nowSeconds = this.#clock() / 1000;
    const proof = await verifyDpopProof(sender.dpopProof, {
      method: sender.method,
      url: sender.url,
      accessToken: token.startsWith('t-') ? token.slice(2) : token,
      nowSeconds,
      iatWindowSeconds: this.#dpopWindow,
    });
    if (proof.jkt !== cnf.jkt)
      throw invalid('The DPoP proof is signed by another key than the token is bound to.');
    const seen = `${proof.jkt}:${proof.jti}`;
    for (const [key, until] of this.#proofsSeen) {
      if (until > nowSeconds && this.#proofsSeen.size < 100_000) break;
      this.#proofsSeen.delete(key);
    }
    if (this.#proofsSeen.has(seen)) throw invalid('The DPoP proof was used before.');
    this.#proofsSeen.set(seen, nowSeconds + 2 * this.#dpopWindow);
    return claims;
  }

  async #verifyToken(token: string): Promise<SessionTokenClaims> {
    if (typeof token !== 'string') throw invalid('The token is not a string.');
    const jwt = token.startsWith('t-') ? token.slice(2) : token;
    const nowSeconds = this.#clock() / 1000;

    const hit = this.#verified.get(jwt);
    if (hit) {
      if (hit.exp + this.#leewaySeconds > nowSeconds) return hit;
      this.#verified.delete(jwt);
      throw new TesseraTokenError('TESSERA_TOKEN_EXPIRED', 'The session token has expired.');
    }

    const parts = splitCompact(jwt);
    const header = decodeJson(parts[0], 'header');
    const kid = checkHeader(header);
    const key = await this.#keyFor(kid);
    const signature = decodeBase64Url(parts[2]);
    if (signature.byteLength !== 64) throw invalid('The signature has the wrong length.');
    const signed = ascii.encode(`${parts[0]}.${parts[1]}`);
    const ok = await key.verify(signed, signature);
    if (!ok) throw invalid('The signature does not verify.');

    const claims = this.#checkClaims(decodeJson(parts[1], 'payload'), this.#clock() / 1000);
    this.#remember(jwt, claims);
    return claims;
  }

  /** Forgets cached verifications and keys (e.g. after a known key compromise). */
  clear(): void {
    this.#verified.clear();
    this.#keys = new Map();
    this.#keysLoadedAt = Number.NEGATIVE_INFINITY;
  }

  #checkClaims(payload: Record<string, unknown>, now: number): SessionTokenClaims {
    const leeway = this.#leewaySeconds;
    const exp = payload.exp;
    const iat = payload.iat;
    const nbf = payload.nbf;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('The token has no valid exp.');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('The token has no valid iat.');
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw invalid('Bad nbf.');
    if (exp + leeway <= now)
      throw new TesseraTokenError('TESSERA_TOKEN_EXPIRED', 'The session token has expired.');
    if (typeof nbf === 'number' && nbf - leeway > now) throw invalid('The token is not valid yet.');
    if (iat - leeway > now) throw invalid('The token was issued in the future.');

    for (const name of ['sub', 'am', 'client_id', 'jti', 'iss'] as const) {
      if (typeof payload[name] !== 'string' || payload[name] === '')
        throw invalid(`The token has no ${name}.`);
    }
    if (this.#issuer !== undefined && payload.iss !== this.#issuer)
      throw invalid('The token has the wrong issuer.');
    const aud = payload.aud;
    const audList = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
    if (!audList || !audList.every((a) => typeof a === 'string'))
      throw invalid('The token has no valid aud.');
    if (!audList.some((a) => this.#audiences.has(a as string)))
      throw invalid('The token has the wrong audience.');
    for (const name of ['uid', 'uidp', 'scope'] as const) {
      if (payload[name] !== undefined && typeof payload[name] !== 'string') throw invalid(`Bad ${name}.`);
    }
    if (Array.isArray(aud)) Object.freeze(aud);
    return Object.freeze(payload) as SessionTokenClaims;
  }

  #remember(jwt: string, claims: SessionTokenClaims): void {
    if (this.#maxCached <= 0) return;
    if (this.#verified.size >= this.#maxCached) {
      // Evict the oldest entries first (Map keeps insertion order); drop expired ones on the way.
      const now = this.#clock() / 1000;
      for (const [key, value] of this.#verified) {
        this.#verified.delete(key);
        if (this.#verified.size < this.#maxCached && value.exp > now) break;
      }
    }
    this.#verified.set(jwt, claims);
  }

  async #keyFor(kid: string): Promise<Ed25519PublicKey> {
    const now = this.#clock();
    if (this.#keysInflight) await this.#keysInflight.catch(() => undefined);
    if (this.#staticJwks) {
      if (this.#keysLoadedAt === Number.NEGATIVE_INFINITY) await this.#refreshKeys();
    } else if (now - this.#keysLoadedAt >= this.#jwksTtlMs) {
      try {
        await this.#refreshKeys();
      } catch (err) {
        // A stale key set is better than none: keep verifying while the server is unreachable.
        if (this.#keys.size === 0) throw err;
      }
    }
    let key = this.#keys.get(kid);
    if (!key && !this.#staticJwks && this.#clock() - this.#lastFetchAt >= this.#refetchIntervalMs) {
      await this.#refreshKeys().catch(() => undefined);
      key = this.#keys.get(kid);
    }
    if (!key) throw invalid('The token is signed with an unknown key.');
    return key;
  }

  /** Single-flight: concurrent callers share one fetch. */
  #refreshKeys(): Promise<void> {
    if (!this.#keysInflight) {
      this.#keysInflight = this.#loadKeys().finally(() => {
        this.#keysInflight = undefined;
      });
    }
    return this.#keysInflight;
  }

  async #loadKeys(): Promise<void> {
    let jwks: Jwks;
    if (this.#staticJwks) {
      jwks = this.#staticJwks;
    } else {
      this.#lastFetchAt = this.#clock();
      jwks = await this.#fetchJwks();
    }
    const keys = new Map<string, Ed25519PublicKey>();
    for (const jwk of Array.isArray(jwks.keys) ? jwks.keys : []) {
      const imported = await importEd25519(jwk);
      if (imported) keys.set(imported.kid, imported.key);
    }
    this.#keys = keys;
    this.#keysLoadedAt = this.#clock();
  }

  async #fetchJwks(): Promise<Jwks> {
    const url = this.#jwksUrl as string;
    if (!this.#fetch) throw new TypeError('No fetch implementation: pass options.fetch');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#jwksTimeoutMs);
    try {
      const response = await this.#fetch(url, {
        headers: { accept: 'application/json' },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body: unknown = await response.json();
      if (!body || typeof body !== 'object' || !Array.isArray((body as Jwks).keys))
        throw new Error('not a JWKS');
      return body as Jwks;
    } catch (err) {
      const reason = controller.signal.aborted ? 'timed out' : err instanceof Error ? err.message : 'failed';
      throw new TesseraNetworkError(
        controller.signal.aborted ? 'TESSERA_TIMEOUT' : 'TESSERA_NETWORK_ERROR',
        `Fetching the JWKS ${reason}`,
        err,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

async function importEd25519(jwk: Jwk): Promise<{ kid: string; key: Ed25519PublicKey } | undefined> {
  if (!jwk || typeof jwk !== 'object') return undefined;
  if (
    jwk.kty !== 'OKP' ||
    jwk.crv !== 'Ed25519' ||
    typeof jwk.x !== 'string' ||
    typeof jwk.kid !== 'string'
  ) {
    return undefined;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.alg !== undefined && !ACCEPTED_ALG.has(jwk.alg)) return undefined;
  try {
    return { kid: jwk.kid, key: await importEd25519PublicKey(jwk.x) };
  } catch {
    return undefined;
  }
}

function invalid(reason: string): TesseraTokenError {
  return new TesseraTokenError('TESSERA_TOKEN_INVALID', reason);
}

function splitCompact(jwt: string): [string, string, string] {
  if (jwt.length === 0 || jwt.length > MAX_TOKEN_LENGTH) throw invalid('The token is empty or too long.');
  const parts = jwt.split('.');
  if (parts.length !== 3) throw invalid('The token is not a compact JWS.');
  const [h, p, s] = parts as [string, string, string];
  if (!isCanonicalBase64Url(h) || !isCanonicalBase64Url(p) || !isCanonicalBase64Url(s))
    throw invalid('The token is not canonical base64url.');
  return [h, p, s];
}

function checkHeader(header: Record<string, unknown>): string {
  if (typeof header.alg !== 'string' || !ACCEPTED_ALG.has(header.alg)) throw invalid('Unsupported alg.');
  if (typeof header.typ !== 'string' || !ACCEPTED_TYP.has(header.typ.toLowerCase())) {
    throw invalid('The token is not an access token (typ).');
  }
  if (header.crit !== undefined) throw invalid('Unsupported crit header.');
  if (typeof header.kid !== 'string' || header.kid === '') throw invalid('The token has no kid.');
  return header.kid;
}

function decodeJson(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(decodeBase64Url(segment)));
  } catch {
    throw invalid(`The token ${what} is not JSON.`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`The token ${what} is not an object.`);
  return value as Record<string, unknown>;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether `segment` is canonical base64url (RFC 7515 §2): the URL-safe alphabet, no padding, and
 * the unused low bits of the last character zero — the one spelling its bytes encode to, so a
 * token cannot be rewritten into another string that still verifies.
 */
export function isCanonicalBase64Url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const rest = segment.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = ALPHABET.indexOf(segment.charAt(segment.length - 1));
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Canonical base64url (no padding) to bytes, with `atob` (present in browsers, Node, Deno, Bun, workers). */
export function decodeBase64Url(segment: string): Uint8Array<ArrayBuffer> {
  if (!isCanonicalBase64Url(segment)) throw invalid('Bad base64url.');
  const b64 = segment.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((segment.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

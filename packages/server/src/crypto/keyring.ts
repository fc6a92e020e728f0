import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { decodeCanonicalBase64Url } from './base64url.js';
import { type RootKey, seal, unseal } from './envelope.js';

/** A signing key as persisted: the private half sealed under the root key. */
export interface StoredSigningKey {
  kid: string;
  alg: 'EdDSA';
  publicJwk: string;
  privateKeySealed: string;
  createdAtMs: number;
  /** When it stopped signing (a newer key took over); null while active. */
  retiredAtMs: number | null;
  /** When it leaves the JWKS: after the last token it signed has expired. */
  removeAfterMs: number | null;
}

/** Persistence for signing keys; implemented in storage/. */
export interface SigningKeyStore {
  listSigningKeys(): Promise<StoredSigningKey[]>;
  insertSigningKey(key: StoredSigningKey): Promise<void>;
  retireSigningKey(kid: string, retiredAtMs: number, removeAfterMs: number): Promise<void>;
  deleteSigningKeysRemovedBefore(nowMs: number): Promise<number>;
}

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

interface LiveKey {
  kid: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  jwk: PublicJwk;
  headerB64: string;
  createdAtMs: number;
  retiredAtMs: number | null;
  removeAfterMs: number | null;
}

export type JwtVerification =
  | { ok: true; payload: Record<string, unknown>; header: Record<string, unknown> }
  | { ok: false; reason: 'malformed' | 'unknown_kid' | 'bad_signature' | 'bad_header' };

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * The JWT signing keyring (Ed25519, RFC 8037). One active key signs; retired keys stay published
 * in the JWKS until every token they signed has expired (DESIGN §3, Keys).
 */
export class Keyring {
  private keys = new Map<string, LiveKey>();
  private active: LiveKey | null = null;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly rootKey: RootKey,
  ) {}

  /** (Re)loads every published key from the store. */
  async load(): Promise<void> {
    const stored = await this.store.listSigningKeys();
    const next = new Map<string, LiveKey>();
    for (const s of stored) {
      const existing = this.keys.get(s.kid);
      next.set(
        s.kid,
        existing
          ? { ...existing, retiredAtMs: s.retiredAtMs, removeAfterMs: s.removeAfterMs }
          : this.materialise(s),
      );
    }
    this.keys = next;
    this.active = this.pickActive();
  }

  /** Ensures an active key exists and rotates it when older than `rotateAfterMs`. */
  async rotateIfDue(nowMs: number, rotateAfterMs: number, maxTokenTtlMs: number): Promise<boolean> {
    if (this.active && nowMs - this.active.createdAtMs < rotateAfterMs) return false;
    await this.rotate(nowMs, maxTokenTtlMs);
    return true;
  }

  /** Creates a new active key now; the previous one keeps verifying until its tokens expire. */
  async rotate(nowMs: number, maxTokenTtlMs: number): Promise<string> {
    const previous = this.active;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const kid = `k-${nowMs.toString(36)}-${b64(publicKey.export({ format: 'der', type: 'spki' }).subarray(-6))}`;
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as { x: string }), kty: 'OKP', crv: 'Ed25519' };
    const stored: StoredSigningKey = {
      kid,
      alg: 'EdDSA',
      publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }),
      privateKeySealed: seal(
        this.rootKey,
        privateKey.export({ format: 'der', type: 'pkcs8' }),
        `signing-key:${kid}`,
      ),
      createdAtMs: nowMs,
      retiredAtMs: null,
      removeAfterMs: null,
    };
    await this.store.insertSigningKey(stored);
    if (previous) await this.store.retireSigningKey(previous.kid, nowMs, nowMs + maxTokenTtlMs);
    await this.store.deleteSigningKeysRemovedBefore(nowMs);
    await this.load();
    return kid;
  }

  hasKid(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** Signs a JWT with the active key. */
  signJwt(payload: Record<string, unknown>): string {
    const key = this.active;
    if (!key) throw new Error('keyring has no active signing key');
    const input = `${key.headerB64}.${b64(JSON.stringify(payload))}`;
    return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
  }

  /** Checks structure, header and signature; claims are the caller's to check. */
  verifyJwt(token: string): JwtVerification {
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (
      first <= 0 ||
      second <= first + 1 ||
      token.indexOf('.', second + 1) !== -1 ||
      second === token.length - 1
    ) {
      return { ok: false, reason: 'malformed' };
    }
    const headerBytes = decodeCanonicalBase64Url(token.slice(0, first));
    const payloadBytes = decodeCanonicalBase64Url(token.slice(first + 1, second));
    const signature = decodeCanonicalBase64Url(token.slice(second + 1));
    if (!headerBytes || !payloadBytes || !signature) return { ok: false, reason: 'malformed' };
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
      payload = JSON.parse(payloadBytes.toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null) {
      return { ok: false, reason: 'malformed' };
    }
    if (header.alg !== 'EdDSA' || header.typ !== 'at+jwt' || typeof header.kid !== 'string') {
      return { ok: false, reason: 'bad_header' };
    }
    const key = this.keys.get(header.kid);
    if (!key) return { ok: false, reason: 'unknown_kid' };
    if (
      signature.length !== 64 ||
      !verify(null, Buffer.from(token.slice(0, second)), key.publicKey, signature)
    ) {
      return { ok: false, reason: 'bad_signature' };
    }
    return { ok: true, header, payload };
  }

  /** The public keys for `/.well-known/jwks.json`. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: [...this.keys.values()].map((k) => k.jwk) };
  }

  activeKid(): string | null {
    return this.active?.kid ?? null;
  }

  private pickActive(): LiveKey | null {
    let best: LiveKey | null = null;
    for (const key of this.keys.values()) {
      if (key.retiredAtMs !== null) continue;
      if (!best || key.createdAtMs > best.createdAtMs) best = key;
    }
    return best;
  }

  private materialise(s: StoredSigningKey): LiveKey {
    const { x } = JSON.parse(s.publicJwk) as { x: string };
    const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid: s.kid, alg: 'EdDSA', use: 'sig' };
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    const privateKey = createPrivateKey({
      key: unseal(this.rootKey, s.privateKeySealed, `signing-key:${s.kid}`),
      format: 'der',
      type: 'pkcs8',
    });
    return {
      kid: s.kid,
      publicKey,
      privateKey,
      jwk,
      headerB64: b64(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: s.kid })),
      createdAtMs: s.createdAtMs,
      retiredAtMs: s.retiredAtMs,
      removeAfterMs: s.removeAfterMs,
    };
  }
}

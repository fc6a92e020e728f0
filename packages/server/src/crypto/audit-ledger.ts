import {
  createPrivateKey,
  createPublicKey,
  hash as digest,
  hkdfSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { sha256Hex } from './credentials.js';
import type { RootKey } from './envelope.js';

/**
 * The two cryptographic pieces of the audit ledger: the hash that chains each event to its
 * predecessor, and the Ed25519 key that signs checkpoints of the chain head.
 */

/** The field order an event is hashed in; appending and verifying must agree on it. */
export const CHAIN_FIELDS = [
  'seq',
  'id',
  'at',
  'type',
  'outcome',
  'actor',
  'resource',
  'reason',
  'request_id',
  'source_ip',
  'data',
] as const;

/** SHA-256's block size in bytes (the length of HMAC's key pads). */
const BLOCK = 64;

/**
 * The keyed hash that chains an event to its predecessor. Any edit, insertion or deletion breaks the
 * chain, and without the root key nobody can forge a link: write access to the database is not
 * enough to append a plausible event.
 */
export class ChainHasher {
  private readonly key: Buffer;
  /** HMAC's inner block (key XOR ipad) followed by room for the message (RFC 2104). */
  private inner: Buffer;
  /** HMAC's outer block (key XOR opad) followed by the inner digest. */
  private readonly outer: Buffer;

  constructor(rootKey: RootKey | { chainKey: Uint8Array }) {
    this.key =
      'chainKey' in rootKey
        ? Buffer.from(rootKey.chainKey)
        : Buffer.from(hkdfSync('sha256', rootKey.material, Buffer.alloc(0), 'tessera audit chain v1', 32));
    // A key no longer than SHA-256's block is used as is, zero-padded (RFC 2104 §2); ours is 32 bytes.
    if (this.key.length > BLOCK) throw new Error('the audit chain key is longer than a SHA-256 block');
    this.inner = Buffer.alloc(BLOCK + 1024, 0x36);
    this.outer = Buffer.alloc(BLOCK + 32, 0x5c);
    for (let i = 0; i < this.key.length; i++) {
      this.inner[i]! ^= this.key[i]!;
      this.outer[i]! ^= this.key[i]!;
    }
  }

  /** The derived chain key, for this process's own verification workers only (never stored or sent). */
  chainKey(): Uint8Array {
    return Uint8Array.from(this.key);
  }

  hash(prevHash: string, fields: readonly unknown[]): string {
    return this.hashMessage(`${prevHash}\n${JSON.stringify(fields)}`);
  }

  /** The same hash, given `JSON.stringify(fields)` already (the canonical bytes). */
  hashSerialized(prevHash: string, serializedFields: string): string {
    return this.hashMessage(`${prevHash}\n${serializedFields}`);
  }

  /**
   * HMAC-SHA256 with the chain key of `prevHash + "\n" + serializedFields` (UTF-8), given as one
   * string: the hash every event carries. Computed as RFC 2104 defines it, H(K^opad || H(K^ipad ||
   * m)), with two one-shot SHA-256 calls over buffers that keep the padded key: the same bytes as
   * `createHmac`, without an Hmac object, its key set-up and four calls into it per event, which
   * cost more than the hashing itself for an event of a few hundred bytes.
   */
  hashMessage(message: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.inner.length < BLOCK + message.length * 3) this.grow(BLOCK + message.length * 3);
    const length = this.inner.write(message, BLOCK, 'utf8');
    digest('sha256', this.inner.subarray(0, BLOCK + length), 'buffer').copy(this.outer, BLOCK);
    return digest('sha256', this.outer, 'hex');
  }

  private grow(size: number) {
    const inner = Buffer.alloc(size);
    this.inner.copy(inner, 0, 0, BLOCK);
    this.inner = inner;
  }
}

/** A signed statement that the chain had `hash` at `seq` at time `atMs`. */
export interface Checkpoint {
  v: 1;
  seq: number;
  hash: string;
  atMs: number;
  kid: string;
  signature: string;
}

const checkpointMessage = (c: Pick<Checkpoint, 'seq' | 'hash' | 'atMs'>) =>
  Buffer.from(`tessera-audit-checkpoint:v1:${c.seq}:${c.hash}:${c.atMs}`);

/**
 * The checkpoint key is derived from the root key (HKDF, its own label), so it is dedicated to
 * checkpoints, identical on every server sharing the root key, and never stored.
 */
export class CheckpointSigner {
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(rootKey: RootKey) {
    const seed = Buffer.from(
      hkdfSync('sha256', rootKey.material, Buffer.alloc(0), 'tessera audit checkpoint v1', 32),
    );
    // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    this.privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    this.publicKey = createPublicKey(this.privateKey);
    const raw = this.publicKey.export({ format: 'jwk' }) as { x: string };
    this.kid = `ck-${sha256Hex(raw.x).slice(0, 12)}`;
  }

  sign(head: { seq: number; hash: string }, atMs: number): Checkpoint {
    const body = { seq: head.seq, hash: head.hash, atMs };
    return {
      v: 1,
      ...body,
      kid: this.kid,
      signature: sign(null, checkpointMessage(body), this.privateKey).toString('base64url'),
    };
  }

  /** True when the checkpoint was signed by this key and is intact. */
  verify(checkpoint: Checkpoint): boolean {
    if (checkpoint.kid !== this.kid || typeof checkpoint.signature !== 'string') return false;
    try {
      return verify(
        null,
        checkpointMessage(checkpoint),
        this.publicKey,
        Buffer.from(checkpoint.signature, 'base64url'),
      );
    } catch {
      return false;
    }
  }

  /** The public key as a JWK, for verifying checkpoints outside Tessera. */
  publicJwk() {
    return {
      ...(this.publicKey.export({ format: 'jwk' }) as object),
      kid: this.kid,
      alg: 'EdDSA',
      use: 'sig',
    };
  }
}

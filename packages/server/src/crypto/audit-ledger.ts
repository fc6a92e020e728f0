import {
  createHmac,
  createPrivateKey,
  createPublicKey,
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

/**
 * The keyed hash that chains an event to its predecessor. Any edit, insertion or deletion breaks the
 * chain, and without the root key nobody can forge a link: write access to the database is not
 * enough to append a plausible event.
 */
export class ChainHasher {
  private readonly key: Buffer;

  constructor(rootKey: RootKey | { chainKey: Uint8Array }) {
    this.key =
      'chainKey' in rootKey
        ? Buffer.from(rootKey.chainKey)
        : Buffer.from(hkdfSync('sha256', rootKey.material, Buffer.alloc(0), 'tessera audit chain v1', 32));
  }

  /** The derived chain key, for this process's own verification workers only (never stored or sent). */
  chainKey(): Uint8Array {
    return Uint8Array.from(this.key);
  }

  hash(prevHash: string, fields: readonly unknown[]): string {
    return this.hashSerialized(prevHash, JSON.stringify(fields));
  }

  /** The same hash, given `JSON.stringify(fields)` already (the canonical bytes). */
  hashSerialized(prevHash: string, serializedFields: string): string {
    return createHmac('sha256', this.key)
      .update(prevHash)
      .update('\n')
      .update(serializedFields)
      .digest('hex');
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

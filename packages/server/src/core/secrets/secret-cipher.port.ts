import type { StoredKek } from './secrets.model.js';

/** A data key: opaque outside crypto/ (its bytes never leave the cipher's callers' stack frames). */
export type DataKey = Uint8Array;

/**
 * Envelope encryption of secret values, implemented in crypto/ (DESIGN §3, Keys). Each item has its
 * own random data key (DEK); each value is encrypted under it with AES-256-GCM, bound by associated
 * data to the item and version; the DEK is wrapped by a versioned key-encryption key (KEK), itself
 * sealed under the root key. Decryption failures throw (the caller reports an integrity error).
 */
export interface SecretCipher {
  /**
   * Unseals the given KEKs (those not known yet, or known with other material) so the keys they wrap
   * can be unwrapped. With `complete`, they are all there are: versions not listed are forgotten.
   */
  loadKeks(keks: readonly StoredKek[], complete?: boolean): void;
  hasKek(version: number): boolean;
  /** Forgets a destroyed KEK. */
  forgetKek(version: number): void;
  /** A new random KEK for `version`, sealed under the root key (store it, then `loadKeks` it). */
  newKek(version: number): { version: number; sealed: string };
  newDataKey(): DataKey;
  /** Wraps `dek` for item `secretId` under KEK `kekVersion` (bound to both). */
  wrap(dek: DataKey, kekVersion: number, secretId: string): string;
  unwrap(wrapped: string, kekVersion: number, secretId: string): DataKey;
  /** AES-256-GCM of the UTF-8 of `plaintext` under `dek`, authenticated with `aad`. */
  encrypt(dek: DataKey, plaintext: string, aad: string): string;
  decrypt(dek: DataKey, ciphertext: string, aad: string): string;
}

/** The associated data of a value: a ciphertext only decrypts as the version of the item it was written for. */
export const valueAad = (secretId: string, version: number) => `tessera-secret:v1:${secretId}:${version}`;

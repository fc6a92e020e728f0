import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKey, SecretCipher } from '../core/secrets/secret-cipher.port.js';
import type { StoredKek } from '../core/secrets/secrets.model.js';
import { type RootKey, seal, unseal } from './envelope.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM: `<iv>.<ciphertext+tag>` in base64url. */
function gcmEncrypt(key: Uint8Array, plaintext: Uint8Array, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${iv.toString('base64url')}.${ct.toString('base64url')}`;
}

function gcmDecrypt(key: Uint8Array, ivPart: string, ctPart: string, aad: string): Buffer {
  const iv = Buffer.from(ivPart, 'base64url');
  const data = Buffer.from(ctPart, 'base64url');
  if (iv.length !== IV_BYTES || data.length < TAG_BYTES) throw new Error('malformed ciphertext');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
}

/** The associated data that seals a KEK under the root key. */
export const kekSealAad = (version: number) => `secret-kek:${version}`;
/** The associated data of a wrapped data key: bound to its item and to the KEK version. */
const dekAad = (secretId: string, kekVersion: number) => `tessera-dek:v1:${secretId}:${kekVersion}`;

/**
 * Envelope encryption of secret values (the core's `SecretCipher`).
 *
 * - value: `c1.<iv>.<ct+tag>`, AES-256-GCM under the item's 256-bit data key, AAD = item id + version;
 * - data key: `k1.<kekVersion>.<iv>.<ct+tag>`, AES-256-GCM under KEK `kekVersion`, AAD = item id +
 *   KEK version (a wrapped key moved to another row, or relabelled, fails to unwrap);
 * - KEK: 32 random bytes sealed under the root key (`envelope.seal`, `v1.<rootKeyId>…`), one row
 *   per version in the store.
 *
 * Unsealed KEKs live in this process's memory only; data keys only for the duration of one call.
 */
export function createSecretCipher(
  rootKey: RootKey,
  options: { dataKeyCacheSize?: number } = {},
): SecretCipher {
  const keks = new Map<number, { sealed: string; material: Buffer }>();
  // Unwrapped data keys of recently read items, by item and wrapped form (a key moved to another row,
  // or re-wrapped, is another entry): one AES-GCM operation fewer per read. Bounded; holds nothing the
  // KEKs in this process could not unwrap anyway. Callers get copies (they zero them after use).
  const cacheSize = options.dataKeyCacheSize ?? 10_000;
  const dataKeys = new Map<string, Buffer>();
  const forgetDataKeys = () => {
    for (const dek of dataKeys.values()) dek.fill(0);
    dataKeys.clear();
  };

  function kek(version: number): Buffer {
    const entry = keks.get(version);
    if (!entry) throw new Error(`KEK version ${version} is not loaded`);
    return entry.material;
  }

  function forget(version: number) {
    keks.get(version)?.material.fill(0);
    keks.delete(version);
    forgetDataKeys();
  }

  return {
    loadKeks(rows: readonly StoredKek[], complete = false) {
      for (const row of rows) {
        if (keks.get(row.version)?.sealed === row.sealed) continue;
        if (keks.has(row.version)) forgetDataKeys();
        keks.get(row.version)?.material.fill(0);
        keks.set(row.version, {
          sealed: row.sealed,
          material: unseal(rootKey, row.sealed, kekSealAad(row.version)),
        });
      }
      if (complete) {
        const listed = new Set(rows.map((r) => r.version));
        for (const version of [...keks.keys()]) if (!listed.has(version)) forget(version);
      }
    },
    hasKek: (version) => keks.has(version),
    forgetKek: forget,
    newKek(version) {
      const material = randomBytes(32);
      const sealed = seal(rootKey, material, kekSealAad(version));
      material.fill(0);
      return { version, sealed };
    },
    newDataKey: () => randomBytes(32),
    wrap(dek: DataKey, kekVersion: number, secretId: string): string {
      return `k1.${kekVersion}.${gcmEncrypt(kek(kekVersion), dek, dekAad(secretId, kekVersion))}`;
    },
    unwrap(wrapped: string, kekVersion: number, secretId: string): DataKey {
      const cacheKey = `${secretId}\u0000${kekVersion}\u0000${wrapped}`;
      const cached = dataKeys.get(cacheKey);
      if (cached) return Buffer.from(cached);
      const [format, version, iv, ct, extra] = wrapped.split('.');
      if (format !== 'k1' || Number(version) !== kekVersion || !iv || !ct || extra !== undefined)
        throw new Error('malformed wrapped key');
      const dek = gcmDecrypt(kek(kekVersion), iv, ct, dekAad(secretId, kekVersion));
      if (dek.length !== 32) throw new Error('malformed data key');
      if (cacheSize > 0) {
        if (dataKeys.size >= cacheSize) {
          const oldest = dataKeys.keys().next().value as string;
          dataKeys.get(oldest)?.fill(0);
          dataKeys.delete(oldest);
        }
        dataKeys.set(cacheKey, Buffer.from(dek));
      }
      return dek;
    },
    encrypt(dek: DataKey, plaintext: string, aad: string): string {
      return `c1.${gcmEncrypt(dek, Buffer.from(plaintext, 'utf8'), aad)}`;
    },
    decrypt(dek: DataKey, ciphertext: string, aad: string): string {
      const [format, iv, ct, extra] = ciphertext.split('.');
      if (format !== 'c1' || !iv || !ct || extra !== undefined) throw new Error('malformed ciphertext');
      const plaintext = gcmDecrypt(dek, iv, ct, aad);
      const text = plaintext.toString('utf8');
      plaintext.fill(0);
      return text;
    },
  };
}

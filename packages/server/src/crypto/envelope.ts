import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing under the root key (KEK). The sealed form is
 * `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url parts), so the key that sealed a value is known
 * and root-key rotation can re-wrap values without guessing.
 */
export interface RootKey {
  readonly id: string;
  readonly material: Buffer;
}

export function seal(rootKey: RootKey, plaintext: Uint8Array, associatedData: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', rootKey.material, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `v1.${rootKey.id}.${iv.toString('base64url')}.${ct.toString('base64url')}`;
}

export function unseal(rootKey: RootKey, sealed: string, associatedData: string): Buffer {
  const [version, keyId, ivPart, ctPart] = sealed.split('.');
  if (version !== 'v1' || !ivPart || !ctPart) throw new Error('sealed value has an unknown format');
  if (keyId !== rootKey.id) throw new Error(`sealed under root key ${keyId}, not ${rootKey.id}`);
  const iv = Buffer.from(ivPart, 'base64url');
  const data = Buffer.from(ctPart, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', rootKey.material, iv);
  decipher.setAAD(Buffer.from(associatedData));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
}

import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { RootKey } from './envelope.js';

function fromMaterial(material: Buffer): RootKey {
  if (material.length !== 32) throw new Error('the root key must be 32 bytes (base64-encoded)');
  // The id names the key without revealing it: a truncated hash of the material.
  const id = createHash('sha256')
    .update('tessera-root-key-id')
    .update(material)
    .digest('base64url')
    .slice(0, 10);
  return { id, material };
}

/** Parses a base64 root key given in configuration. */
export function rootKeyFromBase64(value: string): RootKey {
  return fromMaterial(Buffer.from(value.trim(), 'base64'));
}

/**
 * Loads the root key from `path`, creating it (32 random bytes, base64, mode 0600) when absent.
 * Returns whether it was created so the caller can log the first start.
 */
export function loadOrCreateRootKeyFile(path: string): { key: RootKey; created: boolean } {
  if (existsSync(path)) {
    return { key: fromMaterial(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')), created: false };
  }
  const material = randomBytes(32);
  writeFileSync(path, `${material.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key: fromMaterial(material), created: true };
}

import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { RootKey } from './envelope.js';

/** The id that names a root key without revealing it: a truncated hash of the material (10 characters). */
export function rootKeyId(material: Uint8Array): string {
  return createHash('sha256').update('tessera-root-key-id').update(material).digest('base64url').slice(0, 10);
}

function fromMaterial(material: Buffer): RootKey {
  if (material.length !== 32) throw new Error('the root key must be 32 bytes (base64-encoded)');
  return { id: rootKeyId(material), material };
}

/** A root key from its 32 bytes (e.g. recombined from key shares). */
export function rootKeyFromMaterial(material: Uint8Array): RootKey {
  return fromMaterial(Buffer.from(material));
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

/** A new random root key, and its base64 form (what `root.key` and `TESSERA_ROOT_KEY` hold). */
export function generateRootKey(): { key: RootKey; base64: string } {
  const material = randomBytes(32);
  return { key: fromMaterial(material), base64: material.toString('base64') };
}

/** Writes a root key file (mode 0600, refusing to overwrite) and flushes it to disk. */
export function writeRootKeyFile(path: string, base64: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${base64}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config.js';
import { rootKeyFromBase64 } from '../crypto/root-key.js';
import { combine, split } from '../crypto/shamir.js';
import { openStore } from '../storage/database.js';
import { assertRootKeyMatches } from '../storage/root-sealed-keys.js';
import { storeSealingKeyIds } from './sealed-start.js';

/** What `tessera root-key split` produced. */
export interface RootKeySplit {
  keyId: string;
  shares: string[];
  threshold: number;
  /** Where the key came from: the `root.key` file, or `TESSERA_ROOT_KEY`. */
  keyFile: string | null;
}

/**
 * Splits the root key of a data directory into `shares` key shares, any `threshold` of which rebuild
 * it (ADR 0012). Offline and read-only: the key must be the one the store is sealed under (when the
 * store exists), and the shares are checked to rebuild it before they are returned.
 */
export async function splitRootKeyOffline(
  config: Config,
  options: { shares: number; threshold: number },
): Promise<RootKeySplit> {
  const keyFile = join(config.dataDir, 'root.key');
  if (!config.rootKeyBase64 && !existsSync(keyFile))
    throw new Error(`no root key: ${keyFile} does not exist and TESSERA_ROOT_KEY is not set`);
  const key = rootKeyFromBase64(config.rootKeyBase64 ?? readFileSync(keyFile, 'utf8'));
  if ((await storeSealingKeyIds(config.storeUrl)).size > 0) {
    const store = openStore(config.storeUrl);
    try {
      await assertRootKeyMatches(store.db, key);
    } finally {
      await store.close();
    }
  }
  const shares = split(key.material, options.shares, options.threshold);
  // Belt and braces: the first and the last `threshold` shares each rebuild the key.
  for (const subset of [shares.slice(0, options.threshold), shares.slice(-options.threshold)]) {
    const rebuilt = combine(subset);
    if (!Buffer.from(rebuilt).equals(key.material)) throw new Error('the key shares do not rebuild the key');
    rebuilt.fill(0);
  }
  return {
    keyId: key.id,
    shares,
    threshold: options.threshold,
    keyFile: config.rootKeyBase64 ? null : keyFile,
  };
}

/**
 * Deletes `root.key` of a data directory (after its shares are in safe hands): overwritten with zeros
 * and flushed first, so the key is not left in the file's blocks on a file system that rewrites in place.
 */
export function removeRootKeyFile(dataDir: string): string {
  const keyFile = join(dataDir, 'root.key');
  const size = statSync(keyFile).size;
  const fd = openSync(keyFile, 'r+');
  try {
    writeSync(fd, Buffer.alloc(size), 0, size, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(keyFile);
  const dir = openSync(dirname(keyFile), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return keyFile;
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { RootKey } from '../crypto/envelope.js';
import { startServer, systemClock, type Tessera, type TesseraOptions } from '../server.js';
import { openStore } from '../storage/database.js';
import { assertRootKeyMatches, sealingKeyIds } from '../storage/root-sealed-keys.js';
import { VERSION } from '../version.js';
import { startSealedServer } from './sealed-server.js';

/** How `tessera server` starts: with a key (file or environment), or sealed (ADR 0012). */
export type StartMode = { sealed: false } | { sealed: true; storeKeyIds: Set<string> };

/** The ids of the root keys the store is sealed under; empty for a store that does not exist yet. */
export async function storeSealingKeyIds(storeUrl: string): Promise<Set<string>> {
  if (storeUrl.startsWith('sqlite:')) {
    const file = storeUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    // Opening a missing SQLite file would create it: a missing file is a store that does not exist.
    if (!file || file === ':memory:' || file.startsWith('file:') || !existsSync(file)) return new Set();
  }
  const store = openStore(storeUrl);
  try {
    return await sealingKeyIds(store.db);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === '42P01' || /no such table/.test(e.message ?? '')) return new Set();
    throw error;
  } finally {
    await store.close();
  }
}

/**
 * Sealed when asked (`--sealed`, `TESSERA_SEALED=true`), or when there is neither a key in the
 * environment nor `root.key` but the store is already sealed under a key (after `tessera root-key
 * split --remove-key-file`): creating a new key there could only fail. Throws (plain Error, clear
 * message) on contradictory settings.
 */
export async function chooseStartMode(config: Config): Promise<StartMode> {
  const keyFile = join(config.dataDir, 'root.key');
  if (config.rootKeyBase64) {
    if (config.sealed)
      throw new Error('TESSERA_SEALED (or --sealed) and TESSERA_ROOT_KEY exclude each other');
    return { sealed: false };
  }
  if (existsSync(keyFile)) {
    if (config.sealed)
      throw new Error(
        `--sealed (or TESSERA_SEALED) was given but ${keyFile} exists: a sealed server must not find its key ` +
          'on disk (remove it with `tessera root-key split --remove-key-file`), or start without --sealed',
      );
    return { sealed: false };
  }
  const storeKeyIds = await storeSealingKeyIds(config.storeUrl);
  if (storeKeyIds.size > 0) return { sealed: true, storeKeyIds };
  if (config.sealed)
    throw new Error(
      '--sealed (or TESSERA_SEALED) was given but the store is not sealed under any root key yet: start it ' +
        'once with a key, then split the key with `tessera root-key split`',
    );
  return { sealed: false };
}

/** A server that may start sealed. */
export interface UnsealableServer {
  /** The address, the same sealed and unsealed. */
  url: string;
  /** Whether it started sealed. */
  sealed: boolean;
  /** Resolves once the normal server listens (at once when it did not start sealed). */
  ready: Promise<{ url: string; tessera: Tessera }>;
  /** Closes whichever listener is running. */
  close(): Promise<void>;
}

export interface UnsealableOptions extends TesseraOptions {
  /** Unseal attempts per source address per minute (default 20). */
  unsealAttemptsPerMinute?: number;
}

/**
 * `tessera server`: the normal server when a root key is at hand, else the sealed listener, which
 * gives way to the normal server, on the same address, once key shares rebuilt the root key.
 */
export async function startServerOrSealed(
  config: Config,
  options: UnsealableOptions = {},
): Promise<UnsealableServer> {
  const mode = await chooseStartMode(config);
  if (!mode.sealed) {
    const running = await startServer(config, options);
    return {
      url: running.url,
      sealed: false,
      ready: Promise.resolve({ url: running.url, tessera: running.tessera }),
      close: running.close,
    };
  }
  const sealed = await startSealedServer({
    host: config.host,
    port: config.port,
    tls: config.tls
      ? { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') }
      : null,
    storeKeyIds: mode.storeKeyIds,
    verifyKey: async (key: RootKey) => {
      const store = openStore(config.storeUrl);
      try {
        await assertRootKeyMatches(store.db, key);
      } finally {
        await store.close();
      }
    },
    logger: options.logger ?? { level: config.logLevel },
    trustProxy: config.trustProxy,
    version: VERSION,
    clock: options.clock ?? systemClock,
    ...(options.unsealAttemptsPerMinute ? { attemptsPerMinute: options.unsealAttemptsPerMinute } : {}),
  });
  let running: Awaited<ReturnType<typeof startServer>> | null = null;
  let closed = false;
  const ready = sealed.unsealed.then(async (key) => {
    await sealed.close();
    if (closed) throw new Error('closed before it was unsealed');
    // The key lives in this process's memory only, as if it had come from TESSERA_ROOT_KEY.
    const unsealedConfig: Config = {
      ...config,
      port: sealed.port,
      sealed: false,
      rootKeyBase64: Buffer.from(key.material).toString('base64'),
    };
    running = await startServer(unsealedConfig, options);
    if (closed) {
      await running.close();
      throw new Error('closed while unsealing');
    }
    return { url: running.url, tessera: running.tessera };
  });
  ready.catch(() => {});
  return {
    url: sealed.url,
    sealed: true,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      await sealed.close();
      await ready.catch(() => {});
      await running?.close();
    },
  };
}

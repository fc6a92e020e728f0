import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config/config.js';
import { systemContext } from './core/shared/context.js';
import type { Clock } from './core/shared/platform.port.js';
import { ChainHasher } from './crypto/audit-ledger.js';
import { type RootKey, seal, unseal } from './crypto/envelope.js';
import { generateRootKey, rootKeyFromBase64, writeRootKeyFile } from './crypto/root-key.js';
import { kekSealAad } from './crypto/secret-cipher.js';
import { acquireDataDirLock } from './storage/data-dir-lock.js';
import { migrate, openStore } from './storage/database.js';
import { ChainHead, createAuditRepo } from './storage/repos/audit.repo.js';
import { AUDIT_KEY_SEED, auditKeySource, rootSealedAad, sealingKeyIds } from './storage/root-sealed-keys.js';

/** What `tessera root-key rotate` did. */
export interface RootKeyRotation {
  previousKeyId: string;
  keyId: string;
  /** Rows re-sealed under the new root key. */
  resealed: { signingKeys: number; keks: number; sealedKeys: number };
  /** Where the new root key is. */
  keyFile: string;
  /** An interrupted earlier rotation (committed, key file not yet swapped) was finished instead. */
  finishedInterrupted: boolean;
}

export interface RootKeyRotationOptions {
  /**
   * Where to write the new key when the root key comes from `TESSERA_ROOT_KEY` (required then; the
   * operator moves it into the environment). Ignored with a `root.key` file, which is replaced.
   */
  newKeyFile?: string;
  clock?: Clock;
}

function fsyncDirectory(path: string) {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The signing keys', KEKs' and other sealed rows' associated data, as their owners seal them. */
const signingKeyAad = (kid: string) => `signing-key:${kid}`;

/**
 * Replaces the root key, offline (every server of the store stopped): a new random root key, and
 * every row sealed under the old one (JWT signing keys, secret KEKs, the audit-key seed) re-sealed
 * under it in one transaction that also appends `root_key.rotated` to the audit ledger. Secret values
 * and data keys are not touched: they are under the KEKs. The audit keys stay those derived from the
 * original root key (kept sealed as the audit-key seed), so the ledger still verifies.
 *
 * Crash-safe: the new key is written to `root.key.next` (fsynced) before the commit and moved over
 * `root.key` after it; run again after an interruption and it finishes (or discards) the earlier one.
 */
export async function rotateRootKeyOffline(
  config: Config,
  options: RootKeyRotationOptions = {},
): Promise<RootKeyRotation> {
  const unlock = acquireDataDirLock(config.dataDir, 'root-key rotate'); // never under a live server
  try {
    return await rotateLocked(config, options);
  } finally {
    unlock();
  }
}

async function rotateLocked(config: Config, options: RootKeyRotationOptions): Promise<RootKeyRotation> {
  const nowMs = () => (options.clock ?? { nowMs: () => Date.now() }).nowMs();
  const keyFile = join(config.dataDir, 'root.key');
  const fromEnv = config.rootKeyBase64 !== null;
  if (fromEnv && !options.newKeyFile)
    throw new Error('the root key comes from TESSERA_ROOT_KEY: name a file for the new key (--new-key-file)');
  if (!fromEnv && !existsSync(keyFile)) throw new Error(`no root key: ${keyFile} does not exist`);
  const current = rootKeyFromBase64(config.rootKeyBase64 ?? readFileSync(keyFile, 'utf8'));
  const staging = fromEnv ? options.newKeyFile! : `${keyFile}.next`;
  const target = fromEnv ? options.newKeyFile! : keyFile;

  const store = openStore(config.storeUrl);
  let staged = false;
  try {
    await migrate(store);
    const ids = await sealingKeyIds(store.db);
    if (!fromEnv && existsSync(staging)) {
      const next = rootKeyFromBase64(readFileSync(staging, 'utf8'));
      if (ids.size > 0 && [...ids].every((id) => id === next.id)) {
        renameSync(staging, keyFile);
        fsyncDirectory(dirname(keyFile));
        return {
          previousKeyId: current.id,
          keyId: next.id,
          resealed: { signingKeys: 0, keks: 0, sealedKeys: 0 },
          keyFile,
          finishedInterrupted: true,
        };
      }
      rmSync(staging); // staged by a rotation that never committed
    }
    const foreign = [...ids].filter((id) => id !== current.id);
    if (foreign.length > 0)
      throw new Error(
        `the store is sealed under root key ${foreign.join(', ')}, not ${current.id}: wrong key`,
      );

    const fresh = generateRootKey();
    writeRootKeyFile(staging, fresh.base64);
    staged = true;
    const seed = await auditKeySource(store.db, current);
    const reseal = (sealed: string, aad: string) => seal(fresh.key, unseal(current, sealed, aad), aad);

    const resealed = await store.db.transaction().execute(async (trx) => {
      // PostgreSQL: the ledger-head lock every writer takes first (no server should run, but be safe).
      if (store.dialect === 'postgres')
        await trx.selectFrom('audit_head').select('seq').where('id', '=', 1).forUpdate().execute();
      const signing = await trx.selectFrom('signing_keys').select(['kid', 'private_key_sealed']).execute();
      for (const row of signing) {
        await trx
          .updateTable('signing_keys')
          .set({ private_key_sealed: reseal(row.private_key_sealed, signingKeyAad(row.kid)) })
          .where('kid', '=', row.kid)
          .execute();
      }
      const keks = await trx.selectFrom('secret_keks').select(['version', 'sealed']).execute();
      for (const row of keks) {
        await trx
          .updateTable('secret_keks')
          .set({ sealed: reseal(row.sealed, kekSealAad(Number(row.version))) })
          .where('version', '=', row.version)
          .execute();
      }
      const others = await trx.selectFrom('root_sealed_keys').select(['name', 'sealed']).execute();
      for (const row of others) {
        await trx
          .updateTable('root_sealed_keys')
          .set({ sealed: reseal(row.sealed, rootSealedAad(row.name)), updated_at: nowMs() })
          .where('name', '=', row.name)
          .execute();
      }
      let sealedKeys = others.length;
      if (!others.some((row) => row.name === AUDIT_KEY_SEED)) {
        // The audit keys were derived from the root key itself so far: keep that material as their seed.
        await trx
          .insertInto('root_sealed_keys')
          .values({
            name: AUDIT_KEY_SEED,
            sealed: seal(fresh.key, (seed as RootKey).material, rootSealedAad(AUDIT_KEY_SEED)),
            updated_at: nowMs(),
          })
          .execute();
        sealedKeys++;
      }
      const counts = { signingKeys: signing.length, keks: keks.length, sealedKeys };
      const audit = createAuditRepo(
        { db: trx, dialect: store.dialect, direct: null },
        new ChainHead(),
        new ChainHasher(seed),
      );
      await audit.append(
        {
          type: 'root_key.rotated',
          outcome: 'success',
          actor: {},
          resource: '/sys/keys/root',
          data: { previousKeyId: current.id, keyId: fresh.key.id, ...counts },
        },
        systemContext('root-key-rotation'),
        nowMs(),
      );
      return counts;
    });
    staged = false;
    if (!fromEnv) {
      renameSync(staging, keyFile);
      fsyncDirectory(dirname(keyFile));
    }
    return {
      previousKeyId: current.id,
      keyId: fresh.key.id,
      resealed,
      keyFile: target,
      finishedInterrupted: false,
    };
  } finally {
    // Nothing committed: the staged key protects nothing, and must not be mistaken for the key later.
    if (staged) rmSync(staging, { force: true });
    await store.close();
  }
}

import type { Kysely } from 'kysely';
import { type RootKey, unseal } from '../crypto/envelope.js';
import type { Database } from './schema.js';

/** The row holding the seed of the audit keys once the root key has been rotated. */
export const AUDIT_KEY_SEED = 'audit-key-seed';
/** Associated data of a `root_sealed_keys` row. */
export const rootSealedAad = (name: string) => `root-sealed:${name}`;

/**
 * The key the audit keys (chain HMAC, checkpoint signature, audit hash) are derived from. It is the
 * root key itself until the first root-key rotation; the rotation stores that original material,
 * sealed under the new root key, so the ledger, its checkpoints and every audit hash stay valid
 * across rotations (ADR 0007).
 */
export async function auditKeySource(db: Kysely<Database>, rootKey: RootKey): Promise<RootKey> {
  let row: { sealed: string } | undefined;
  try {
    row = await db
      .selectFrom('root_sealed_keys')
      .select('sealed')
      .where('name', '=', AUDIT_KEY_SEED)
      .executeTakeFirst();
  } catch (error) {
    // A store not migrated to 0003 yet (offline verification of an older data dir): never rotated.
    const e = error as { code?: string; message?: string };
    if (e.code === '42P01' || /no such table/.test(e.message ?? '')) return rootKey;
    throw error;
  }
  if (!row) return rootKey;
  return { id: `seed-${rootKey.id}`, material: unseal(rootKey, row.sealed, rootSealedAad(AUDIT_KEY_SEED)) };
}

/** The ids of the root keys the store's sealed rows were sealed under (`v1.<keyId>.…`). */
export async function sealingKeyIds(db: Kysely<Database>): Promise<Set<string>> {
  const sealed = [
    ...(await db.selectFrom('signing_keys').select('private_key_sealed as s').execute()),
    ...(await db.selectFrom('secret_keks').select('sealed as s').execute()),
    ...(await db.selectFrom('root_sealed_keys').select('sealed as s').execute()),
  ];
  return new Set(sealed.map((row) => row.s.split('.')[1] ?? ''));
}

/**
 * Refuses to start with a root key that did not seal the store (a wrong key, or a root-key rotation
 * interrupted between its commit and the swap of the key file).
 */
export async function assertRootKeyMatches(db: Kysely<Database>, rootKey: RootKey): Promise<void> {
  const ids = await sealingKeyIds(db);
  const others = [...ids].filter((id) => id !== rootKey.id);
  if (others.length > 0) {
    throw new Error(
      `the store is sealed under root key ${others.join(', ')}, but the configured root key is ${rootKey.id}: ` +
        'wrong key, or an interrupted `tessera root-key rotate` (run it again to finish it)',
    );
  }
}

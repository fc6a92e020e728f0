import type { Kysely } from 'kysely';
import type { SigningKeyStore } from '../../crypto/keyring.js';
import type { Database } from '../schema.js';

export function createSigningKeyStore(db: Kysely<Database>): SigningKeyStore {
  return {
    async listSigningKeys() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
      return rows.map((r) => ({
        kid: r.kid,
        alg: 'EdDSA' as const,
        publicJwk: r.public_jwk,
        privateKeySealed: r.private_key_sealed,
        createdAtMs: r.created_at,
        retiredAtMs: r.retired_at,
        removeAfterMs: r.remove_after,
      }));
    },
    async insertSigningKey(k) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: k.kid,
          alg: k.alg,
          public_jwk: k.publicJwk,
          private_key_sealed: k.privateKeySealed,
          created_at: k.createdAtMs,
          retired_at: k.retiredAtMs,
          remove_after: k.removeAfterMs,
        })
        .execute();
    },
    async retireSigningKey(kid, retiredAtMs, removeAfterMs) {
      await db
        .updateTable('signing_keys')
        .set({ retired_at: retiredAtMs, remove_after: removeAfterMs })
        .where('kid', '=', kid)
        .where('retired_at', 'is', null)
        .execute();
    },
    async deleteSigningKeysRemovedBefore(nowMs) {
      const result = await db.deleteFrom('signing_keys').where('remove_after', '<', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

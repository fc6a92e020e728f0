import type { Kysely } from 'kysely';
import type { Clock, OneTimeKeys } from '../../core/shared/platform.port.js';
import type { Database } from '../schema.js';

const MAX_KEY_LENGTH = 512;
const PRUNE_BATCH = 10_000;

/**
 * `OneTimeKeys` on the store, one statement per call and the same SQL on both dialects:
 *
 *   insert into one_time_keys (key, expires_at) values (:key, :now + :ttl)
 *   on conflict (key) do update set expires_at = excluded.expires_at
 *     where one_time_keys.expires_at <= :now
 *   returning key
 *
 * A row comes back only when the key was new (insert) or had expired (revived). On PostgreSQL two
 * servers inserting the same key meet on the primary key: the second waits for the first to commit,
 * then takes the conflict branch and re-checks `expires_at` on the committed row (which is in the
 * future), so it gets no row. Reviving an expired key locks the row the same way, so one reviver
 * wins. On SQLite writers are serialised by the database lock. Works on a transaction too (e.g. an
 * approval grant consumed with the action it approves): the key is then spent only if that commits.
 */
export function createOneTimeKeyRepo(db: Kysely<Database>, clock: Clock): OneTimeKeys {
  return {
    async consume(key, ttlSeconds) {
      if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)
        throw new RangeError(`a one-time key must be 1 to ${MAX_KEY_LENGTH} characters`);
      if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
        throw new RangeError('a one-time key needs a positive TTL');
      const nowMs = clock.nowMs();
      const row = await db
        .insertInto('one_time_keys')
        .values({ key, expires_at: nowMs + Math.ceil(ttlSeconds * 1000) })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
            .where('one_time_keys.expires_at', '<=', nowMs),
        )
        .returning('key')
        .executeTakeFirst();
      return row !== undefined;
    },
    async pruneExpired() {
      // Bounded batches, so one prune never holds a long lock on a large table.
      let total = 0;
      for (;;) {
        const nowMs = clock.nowMs();
        const result = await db
          .deleteFrom('one_time_keys')
          .where(
            'key',
            'in',
            db.selectFrom('one_time_keys').select('key').where('expires_at', '<=', nowMs).limit(PRUNE_BATCH),
          )
          .where('expires_at', '<=', nowMs)
          .executeTakeFirst();
        const deleted = Number(result.numDeletedRows);
        total += deleted;
        if (deleted < PRUNE_BATCH) return total;
      }
    },
  };
}

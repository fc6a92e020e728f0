import { type Kysely, sql } from 'kysely';
import type { Revocation, RevocationRepo } from '../../core/sessions/revocations.repo.js';
import type { Dialect } from '../database.js';
import type { Database } from '../schema.js';

/** The PostgreSQL channel on which servers learn of each other's revocations. */
export const REVOCATION_CHANNEL = 'tessera_revocations';

export function createRevocationRepo(db: Kysely<Database>, dialect: Dialect): RevocationRepo {
  return {
    async insert(r) {
      // Sequence numbers are taken at insert but seen at commit. On PostgreSQL every write transaction
      // first locks the ledger head (see createGroupCommitUnitOfWork's `begin`), so commit order is
      // seq order and a poller reading "after seq N" never skips a late commit.
      const row = await db
        .insertInto('revocations')
        .values({
          kind: r.kind,
          subject: r.subject,
          revoked_at: r.revokedAtMs,
          expires_at: r.expiresAtMs,
          reason: r.reason,
        })
        .returning('seq')
        .executeTakeFirstOrThrow();
      // Delivered to listeners when (and only if) the transaction commits.
      if (dialect === 'postgres')
        await sql`select pg_notify(${REVOCATION_CHANNEL}, ${String(row.seq)})`.execute(db);
      return Number(row.seq);
    },
    async listAfter(seq, limit) {
      const rows = await db
        .selectFrom('revocations')
        .selectAll()
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(
        (r): Revocation => ({
          seq: Number(r.seq),
          kind: r.kind as Revocation['kind'],
          subject: r.subject,
          revokedAtMs: r.revoked_at,
          expiresAtMs: r.expires_at,
          reason: r.reason,
        }),
      );
    },
    async deleteExpired(nowMs) {
      const result = await db.deleteFrom('revocations').where('expires_at', '<', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

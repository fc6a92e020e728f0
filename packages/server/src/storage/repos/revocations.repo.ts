import type { Kysely } from 'kysely';
import type { Revocation, RevocationRepo } from '../../core/sessions/revocations.repo.js';
import type { Database } from '../schema.js';

export function createRevocationRepo(db: Kysely<Database>): RevocationRepo {
  return {
    async insert(r) {
      const row = await db
        .insertInto('revocations')
        .values({ kind: r.kind, subject: r.subject, revoked_at: r.revokedAtMs, expires_at: r.expiresAtMs, reason: r.reason })
        .returning('seq')
        .executeTakeFirstOrThrow();
      return Number(row.seq);
    },
    async listAfter(seq, limit) {
      const rows = await db.selectFrom('revocations').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
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

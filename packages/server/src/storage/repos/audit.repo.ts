import type { Kysely } from 'kysely';
import type { AuditEvent, StoredAuditEvent } from '../../core/audit/audit.model.js';
import type { AuditRepo } from '../../core/audit/audit.repo.js';
import type { RequestContext } from '../../core/shared/context.js';
import { sha256Hex } from '../../crypto/credentials.js';
import type { Dialect } from '../database.js';
import type { Database } from '../schema.js';

/** The hash that chains an event to its predecessor. Any edit, insertion or deletion breaks it. */
export function chainHash(prevHash: string, fields: readonly unknown[]): string {
  return sha256Hex(`${prevHash}\n${JSON.stringify(fields)}`);
}

export function createAuditRepo(db: Kysely<Database>, dialect: Dialect): AuditRepo {
  return {
    async append(event: AuditEvent, ctx: RequestContext, atMs: number) {
      let headQuery = db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1);
      // Several servers share one PostgreSQL ledger: the head row lock orders their appends.
      if (dialect === 'postgres') headQuery = headQuery.forUpdate();
      const head = await headQuery.executeTakeFirstOrThrow();
      const seq = Number(head.seq) + 1;
      const row = {
        seq,
        id: `ev-${seq}`,
        at: atMs,
        type: event.type,
        outcome: event.outcome,
        actor: JSON.stringify({ ...(ctx.actor ?? {}), ...event.actor }),
        resource: event.resource ?? null,
        reason: event.reason ?? null,
        request_id: ctx.requestId,
        source_ip: ctx.sourceIp,
        data: JSON.stringify({ v: 1, userAgent: ctx.userAgent, ...(event.data ?? {}) }),
      };
      const hash = chainHash(head.hash, Object.values(row));
      await db
        .insertInto('audit_events')
        .values({ ...row, prev_hash: head.hash, hash })
        .execute();
      await db.updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute();
    },
    async list(afterSeq, limit) {
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(
        (r): StoredAuditEvent => ({
          seq: Number(r.seq),
          id: r.id,
          atMs: r.at,
          type: r.type,
          outcome: r.outcome as StoredAuditEvent['outcome'],
          actor: JSON.parse(r.actor),
          resource: r.resource,
          reason: r.reason,
          requestId: r.request_id,
          sourceIp: r.source_ip,
          data: JSON.parse(r.data),
          prevHash: r.prev_hash,
          hash: r.hash,
        }),
      );
    },
  };
}

import type { Selectable } from 'kysely';
import { type AuditEvent, ENCODED_PARTS, type StoredAuditEvent } from '../../core/audit/audit.model.js';
import type { AuditRepo } from '../../core/audit/audit.repo.js';
import type { RequestContext } from '../../core/shared/context.js';
import { CHAIN_FIELDS, type ChainHasher } from '../../crypto/audit-ledger.js';
import type { DirectSqlite } from '../database.js';
import { prepared, type QueryTarget } from '../prepared.js';
import type { Database } from '../schema.js';
import { queryAuditEvents, toStoredAuditEvent } from './audit.query.js';

/**
 * The head of the chain as this process knows it. With SQLite one process owns the ledger, so the
 * head lives in memory (restored by the unit of work when a unit rolls back, reloaded after a
 * failed commit). With PostgreSQL several servers append, so the head row is locked per append.
 */
export class ChainHead {
  current: { seq: number; hash: string } | null = null;
}

const GENESIS = '0'.repeat(64);

const insertEvent = prepared(
  (
    db,
    seq: number,
    id: string,
    at: number,
    type: string,
    outcome: string,
    actor: string,
    resource: string | null,
    reason: string | null,
    requestId: string | null,
    sourceIp: string | null,
    data: string,
    prevHash: string,
    hash: string,
  ) =>
    db.insertInto('audit_events').values({
      seq,
      id,
      at,
      type,
      outcome,
      actor,
      resource,
      reason,
      request_id: requestId,
      source_ip: sourceIp,
      data,
      prev_hash: prevHash,
      hash,
    }),
);

const LIST_SQL = `select ${[...CHAIN_FIELDS, 'prev_hash', 'hash'].join(', ')} from audit_events where seq > ? order by seq limit ?`;

type AuditEventRow = Selectable<Database['audit_events']>;

const toStored = toStoredAuditEvent;

/** The insert as run on the SQLite connection inside the unit of work (columns in CHAIN_FIELDS order). */
const INSERT_DIRECT = `insert into audit_events (${[...CHAIN_FIELDS, 'prev_hash', 'hash'].join(', ')}) values (${Array(
  CHAIN_FIELDS.length + 2,
)
  .fill('?')
  .join(', ')})`;

export function createAuditRepo(
  target: QueryTarget,
  chain: ChainHead,
  hasher: ChainHasher,
  /** SQLite: the connection, for reads made while holding it (see `list`). */
  connection: DirectSqlite | null = null,
  /** Hands each appended event, as stored, to `onAppended` once its transaction commits. */
  published: {
    afterCommit: (fn: () => void) => void;
    onAppended: (event: StoredAuditEvent) => void;
  } | null = null,
): AuditRepo {
  const { db, dialect } = target;
  async function headFor(): Promise<{ seq: number; hash: string }> {
    if (dialect === 'postgres') {
      const row = await db
        .selectFrom('audit_head')
        .select(['seq', 'hash'])
        .where('id', '=', 1)
        .forUpdate()
        .executeTakeFirstOrThrow();
      return { seq: Number(row.seq), hash: row.hash };
    }
    if (!chain.current) {
      const last = await db
        .selectFrom('audit_events')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      // Every stored event archived: the chain resumes from the latest archive anchor.
      const anchor = last
        ? undefined
        : await db
            .selectFrom('audit_anchors')
            .select(['seq', 'hash'])
            .orderBy('seq', 'desc')
            .limit(1)
            .executeTakeFirst();
      const top = last ?? anchor;
      chain.current = top ? { seq: Number(top.seq), hash: top.hash } : { seq: 0, hash: GENESIS };
    }
    return chain.current;
  }

  return {
    async append(event: AuditEvent, ctx: RequestContext, atMs: number) {
      // SQLite: the head is in memory once loaded (no promise to wait for on the hot path).
      const head = dialect !== 'postgres' && chain.current ? chain.current : await headFor();
      const seq = head.seq + 1;
      // The chained fields, in CHAIN_FIELDS order (seq, id, at, type, outcome, actor, resource,
      // reason, request_id, source_ip, data): the array that is hashed is the one that is inserted.
      const data = { v: 1, userAgent: ctx.userAgent, ...(event.data ?? {}) };
      // The caller's actor over the request's: merged once, for the chained JSON and the record.
      const merged = ctx.actor ? { ...ctx.actor, ...event.actor } : null;
      const fields: unknown[] = [
        seq,
        `ev-${seq}`,
        atMs,
        event.type,
        event.outcome,
        JSON.stringify(merged ?? event.actor),
        event.resource ?? null,
        event.reason ?? null,
        ctx.requestId,
        ctx.sourceIp,
        JSON.stringify(data),
      ];
      const hash = hasher.hash(head.hash, fields);
      if (target.direct) {
        fields.push(head.hash, hash);
        target.direct.execute(INSERT_DIRECT, fields);
      } else {
        const [, id, at, type, outcome, actor, resource, reason, requestId, sourceIp, data] = fields as [
          number,
          string,
          number,
          string,
          string,
          string,
          string | null,
          string | null,
          string | null,
          string | null,
          string,
        ];
        await insertEvent(
          target,
          seq,
          id,
          at,
          type,
          outcome,
          actor,
          resource,
          reason,
          requestId,
          sourceIp,
          data,
          head.hash,
          hash,
        );
      }
      if (dialect === 'postgres')
        await db.updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute();
      else chain.current = { seq, hash };
      if (published) {
        // The stored event, built from what was just written rather than read back, with the JSON
        // of its actor and data as hashed and stored (a sink writing JSON lines reuses it).
        // Read-only, and never the caller's own object: the JSON below is what a file or syslog line
        // carries, so the record must not change after it (encodeAuditRecord trusts that).
        const actor = Object.freeze(merged ?? { ...event.actor });
        Object.freeze(data);
        const stored: StoredAuditEvent = {
          [ENCODED_PARTS]: {
            actor: fields[5] as string,
            data: fields[10] as string,
            actorObject: actor,
            dataObject: data,
          },
          seq,
          id: fields[1] as string,
          atMs,
          type: event.type,
          outcome: event.outcome,
          actor,
          resource: event.resource ?? null,
          reason: event.reason ?? null,
          requestId: ctx.requestId,
          sourceIp: ctx.sourceIp,
          data,
          prevHash: head.hash,
          hash,
        };
        published.afterCommit(() => published.onAppended(stored));
      }
    },
    async list(afterSeq, limit) {
      if (connection && !db.isTransaction) {
        // The sinks tail every committed event through here. Holding Kysely's connection (so no
        // write transaction is open: only committed rows are visible), read the rows as arrays on
        // the cached statement and shape the events directly, skipping Kysely's row objects.
        const rows = await db
          .connection()
          .execute(async () => connection.execute(LIST_SQL, [afterSeq, limit]) as AuditEventRow[]);
        return rows.map(toStored);
      }
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map(toStored);
    },
    query: (filter, page, limit) => queryAuditEvents(target, filter, page, limit),
  };
}

import { type Selectable, sql } from 'kysely';
import type { StoredAuditEvent } from '../../core/audit/audit.model.js';
import type { AuditFilter, AuditPageRequest } from '../../core/audit/audit.repo.js';
import type { Dialect } from '../database.js';
import type { QueryTarget } from '../prepared.js';
import type { AuditEventTable } from '../schema.js';

/** The actor fields a query can filter on (constants: never built from input). */
type ActorField = 'identityId' | 'authMethodId';

/** A field of the actor JSON (stored as text on both stores). */
function actorField(dialect: Dialect, field: ActorField) {
  return dialect === 'postgres'
    ? sql<string>`(actor::jsonb ->> ${sql.lit(field)})`
    : sql<string>`json_extract(actor, ${sql.lit(`$.${field}`)})`;
}

/** `id` acted (the actor's identity or auth method) or is one of the event's `data.parties`. */
function isParty(dialect: Dialect, id: string) {
  const inData =
    dialect === 'postgres'
      ? sql<boolean>`coalesce((data::jsonb -> 'parties') @> jsonb_build_array(${id}::text), false)`
      : sql<boolean>`exists (select 1 from json_each(data, '$.parties') where json_each.value = ${id})`;
  return sql<boolean>`(${actorField(dialect, 'identityId')} = ${id} or ${actorField(dialect, 'authMethodId')} = ${id} or ${inData})`;
}

/**
 * `column` starts with `prefix`. `substr` rather than `LIKE`: exact and case-sensitive on both
 * stores, with no wildcard characters (`_` appears in event types) to escape.
 */
function startsWith(column: 'type' | 'resource', prefix: string) {
  return sql<boolean>`substr(${sql.ref(column)}, 1, ${[...prefix].length}) = ${prefix}`;
}

/** A stored row as the core sees it. */
export function toStoredAuditEvent(r: Selectable<AuditEventTable>): StoredAuditEvent {
  return {
    seq: Number(r.seq),
    id: r.id,
    atMs: Number(r.at),
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
  };
}

/** The filtered, paged read behind `GET /v1/audit/events`; one query on SQLite and PostgreSQL alike. */
export async function queryAuditEvents(
  { db, dialect }: QueryTarget,
  filter: AuditFilter,
  page: AuditPageRequest,
  limit: number,
): Promise<StoredAuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll();
  if (filter.identityId !== undefined) q = q.where(actorField(dialect, 'identityId'), '=', filter.identityId);
  if (filter.authMethodId !== undefined)
    q = q.where(actorField(dialect, 'authMethodId'), '=', filter.authMethodId);
  if (filter.types && filter.types.length > 0) {
    const types = filter.types;
    q = q.where((eb) =>
      eb.or(types.map((t) => (t.prefix ? startsWith('type', t.value) : eb('type', '=', t.value)))),
    );
  }
  if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
  if (filter.resourcePrefix !== undefined) q = q.where(startsWith('resource', filter.resourcePrefix));
  for (const party of filter.parties ?? []) q = q.where(isParty(dialect, party));
  if (filter.sinceMs !== undefined) q = q.where('at', '>=', filter.sinceMs);
  if (filter.untilMs !== undefined) q = q.where('at', '<', filter.untilMs);
  if (page.order === 'ascending') {
    q = q.where('seq', '>', page.afterSeq).orderBy('seq', 'asc');
  } else {
    if (page.beforeSeq !== null) q = q.where('seq', '<', page.beforeSeq);
    q = q.orderBy('seq', 'desc');
  }
  const rows = await q.limit(limit).execute();
  return rows.map(toStoredAuditEvent);
}

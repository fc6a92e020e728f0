/**
 * Folds the audit ledger into per-identity usage (incrementally: from the last event folded), so a
 * scan reads each event once, ever, and the inventory reads aggregates instead of the ledger.
 */
import type { AuditSlice, UsageRow } from './governance.repo.js';

/** Writes by services are their own events; reads are the access layer's `access.granted`. */
const WRITE = /^(secret|dynamic_secret|rotated_secret)\.(created|updated|deleted)$/;
const ACTION: Record<string, string> = { created: 'create', updated: 'update', deleted: 'delete' };

const parse = (s: string): Record<string, unknown> => {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/**
 * Aggregates one batch of events into usage rows. `actors` (the acting identity of each event, as
 * `actorOf` reads it) spares parsing the actor again where only the identity is needed.
 */
export function foldUsage(events: readonly AuditSlice[], actors?: readonly (string | null)[]): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  const add = (identityId: string, kind: UsageRow['kind'], subject: string, detail: string, at: number) => {
    const key = `${identityId}\u0000${kind}\u0000${subject}\u0000${detail}`;
    const row = rows.get(key);
    if (row) {
      row.count++;
      if (at > row.lastAt) row.lastAt = at;
      if (at < row.firstAt) row.firstAt = at;
    } else rows.set(key, { identityId, kind, subject, detail, count: 1, firstAt: at, lastAt: at });
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.type !== 'access.granted' && e.type !== 'auth.succeeded' && !WRITE.test(e.type)) continue;
    // The credential of a sign-in is in its actor; elsewhere the identity is enough.
    const actor = e.type === 'auth.succeeded' || !actors ? parse(e.actor) : null;
    const identityId = actor ? (typeof actor.identityId === 'string' ? actor.identityId : null) : actors![i];
    if (!identityId) continue;
    if (actor && e.type === 'auth.succeeded') {
      const credential = (actor.uidNodeId ?? actor.authMethodId) as string | undefined;
      if (credential) add(identityId, 'src', credential, e.source_ip ?? '', e.at);
      continue;
    }
    if (!e.resource) continue;
    if (e.type === 'access.granted') {
      const data = parse(e.data);
      if (typeof data.resourceType === 'string' && typeof data.action === 'string')
        add(identityId, 'perm', `${data.resourceType}|${data.action}`, e.resource, e.at);
      continue;
    }
    const [, , verb = ''] = WRITE.exec(e.type) ?? [];
    add(identityId, 'perm', `item|${ACTION[verb]}`, e.resource, e.at);
  }
  return [...rows.values()];
}

const keyOf = (u: UsageRow) => `${u.identityId}\u0000${u.kind}\u0000${u.subject}\u0000${u.detail}`;

/**
 * Merges a later batch's rows into `into` as the store's upsert would apply them one batch after
 * the other: counts add up, the last use is the latest, the first use stays the earlier batch's.
 */
export function mergeUsage(into: Map<string, UsageRow>, rows: readonly UsageRow[]): void {
  for (const u of rows) {
    const key = keyOf(u);
    const have = into.get(key);
    if (!have) into.set(key, u);
    else {
      have.count += u.count;
      if (u.lastAt > have.lastAt) have.lastAt = u.lastAt;
    }
  }
}

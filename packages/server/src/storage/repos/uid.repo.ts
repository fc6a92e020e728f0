import { type Selectable, sql } from 'kysely';
import type { IdentityState } from '../../core/identities/identities.model.js';
import {
  subtreeEnd,
  type UidCreator,
  type UidCredential,
  type UidCredentialState,
  type UidNode,
} from '../../core/uid/uid.model.js';
import type { UidRepo } from '../../core/uid/uid.repo.js';
import { prepared, type QueryTarget } from '../prepared.js';
import type { UidCredentialTable, UidNodeTable } from '../schema.js';

type PresentedRow = Selectable<UidNodeTable> & {
  i_state: string | null;
  c_hash: string;
  c_generation: number;
  c_state: string;
  c_manual_ack: number;
  c_grace_until: number | null;
  c_created_at: number;
  c_activated_at: number | null;
  c_superseded_at: number | null;
  p_hash: string | null;
  p_generation: number | null;
  p_state: string | null;
  p_manual_ack: number | null;
  p_grace_until: number | null;
  p_created_at: number | null;
  p_activated_at: number | null;
  p_superseded_at: number | null;
};

/** The hot path of every UID presentation: one indexed read for credential, node and successor. */
const findPresentedQuery = prepared(
  (_db, hash: string) => sql<PresentedRow>`
    select n.*, i.state as i_state,
      c.hash as c_hash, c.generation as c_generation, c.state as c_state, c.manual_ack as c_manual_ack,
      c.grace_until as c_grace_until, c.created_at as c_created_at, c.activated_at as c_activated_at,
      c.superseded_at as c_superseded_at,
      p.hash as p_hash, p.generation as p_generation, p.state as p_state, p.manual_ack as p_manual_ack,
      p.grace_until as p_grace_until, p.created_at as p_created_at, p.activated_at as p_activated_at,
      p.superseded_at as p_superseded_at
    from uid_credentials c
    join uid_nodes n on n.id = c.node_id
    left join identities i on i.id = n.identity_id
    left join uid_credentials p on p.node_id = c.node_id and p.state = 'pending'
    where c.hash = ${hash}
    limit 1`,
);

function prefixed(row: PresentedRow, prefix: 'c_' | 'p_', nodeId: string): UidCredential | null {
  const r = row as unknown as Record<string, unknown>;
  if (r[`${prefix}hash`] == null) return null;
  return toCredential({
    hash: r[`${prefix}hash`] as string,
    node_id: nodeId,
    generation: Number(r[`${prefix}generation`]),
    state: r[`${prefix}state`] as string,
    manual_ack: Number(r[`${prefix}manual_ack`]),
    grace_until: r[`${prefix}grace_until`] == null ? null : Number(r[`${prefix}grace_until`]),
    created_at: Number(r[`${prefix}created_at`]),
    activated_at: r[`${prefix}activated_at`] == null ? null : Number(r[`${prefix}activated_at`]),
    superseded_at: r[`${prefix}superseded_at`] == null ? null : Number(r[`${prefix}superseded_at`]),
  });
}

function toNode(r: Selectable<UidNodeTable>): UidNode {
  return {
    id: r.id,
    methodId: r.method_id,
    identityId: r.identity_id,
    parentId: r.parent_id,
    path: r.path,
    depth: r.depth,
    ttlSeconds: r.ttl_seconds,
    expiresAtMs: r.expires_at,
    denyRotate: r.deny_rotate === 1,
    denyInheritance: r.deny_inheritance === 1,
    comment: r.comment,
    createdAtMs: r.created_at,
    lastRotatedAtMs: r.last_rotated_at,
    rotationSeq: r.rotation_seq,
    revokedAtMs: r.revoked_at,
    revokedReason: r.revoked_reason,
    flaggedAtMs: r.flagged_at,
    createdBy: parseCreator(r.created_by),
  };
}

/**
 * Parsed `created_by` values by their stored text: every presentation of a token reads its node,
 * and parsing the same JSON again was 1% of `/v1/auth`. The values are frozen, as they are shared.
 * Bounded: emptied when full.
 */
const creators = new Map<string, UidCreator | null>();
const MAX_CREATORS = 5_000;

function parseCreator(raw: string | null | undefined): UidCreator | null {
  if (!raw) return null;
  const known = creators.get(raw);
  if (known !== undefined) return known;
  let creator: UidCreator | null;
  try {
    creator = Object.freeze(JSON.parse(raw) as UidCreator);
  } catch {
    creator = null;
  }
  if (creators.size >= MAX_CREATORS) creators.clear();
  creators.set(raw, creator);
  return creator;
}

function toCredential(r: Selectable<UidCredentialTable>): UidCredential {
  return {
    hash: r.hash,
    nodeId: r.node_id,
    generation: r.generation,
    state: r.state as UidCredentialState,
    manualAck: r.manual_ack === 1,
    graceUntilMs: r.grace_until,
    createdAtMs: r.created_at,
    activatedAtMs: r.activated_at,
    supersededAtMs: r.superseded_at,
  };
}

const count = (result: { numUpdatedRows: bigint }) => Number(result.numUpdatedRows);

export function createUidRepo(target: QueryTarget): UidRepo {
  const { db } = target;
  const inSubtree = (methodId: string, path: string | null) => {
    let q = db.selectFrom('uid_nodes').where('method_id', '=', methodId);
    if (path) q = q.where('path', '>=', path).where('path', '<', subtreeEnd(path));
    return q;
  };

  return {
    async insertNode(n) {
      await db
        .insertInto('uid_nodes')
        .values({
          id: n.id,
          method_id: n.methodId,
          identity_id: n.identityId,
          parent_id: n.parentId,
          path: n.path,
          depth: n.depth,
          ttl_seconds: n.ttlSeconds,
          expires_at: n.expiresAtMs,
          deny_rotate: n.denyRotate ? 1 : 0,
          deny_inheritance: n.denyInheritance ? 1 : 0,
          comment: n.comment,
          created_at: n.createdAtMs,
          last_rotated_at: n.lastRotatedAtMs,
          rotation_seq: n.rotationSeq,
          revoked_at: n.revokedAtMs,
          revoked_reason: n.revokedReason,
          flagged_at: n.flaggedAtMs,
          created_by: n.createdBy ? JSON.stringify(n.createdBy) : null,
        })
        .execute();
    },
    async countChildren(parentId, nowMs) {
      const { rows } = await sql<{ ever: number | string; live: number | string | null }>`
        select count(*) as ever,
          sum(case when revoked_at is null and expires_at > ${nowMs} then 1 else 0 end) as live
        from uid_nodes where parent_id = ${parentId}`.execute(db);
      return { ever: Number(rows[0]?.ever ?? 0), live: Number(rows[0]?.live ?? 0) };
    },
    async getNode(id) {
      const row = await db.selectFrom('uid_nodes').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toNode(row) : null;
    },
    async insertCredential(c) {
      await db
        .insertInto('uid_credentials')
        .values({
          hash: c.hash,
          node_id: c.nodeId,
          generation: c.generation,
          state: c.state,
          manual_ack: c.manualAck ? 1 : 0,
          grace_until: c.graceUntilMs,
          created_at: c.createdAtMs,
          activated_at: c.activatedAtMs,
          superseded_at: c.supersededAtMs,
        })
        .execute();
    },
    async findCredential(hash) {
      const row = await db
        .selectFrom('uid_credentials')
        .selectAll()
        .where('hash', '=', hash)
        .executeTakeFirst();
      return row ? toCredential(row) : null;
    },
    async findPresented(hash) {
      const row = (await findPresentedQuery(target, hash))[0];
      if (!row) return null;
      return {
        node: toNode(row),
        credential: prefixed(row, 'c_', row.id)!,
        pending: prefixed(row, 'p_', row.id),
        identityState: (row.i_state as IdentityState | null) ?? null,
      };
    },
    async findCredentialsOfNode(nodeId, state) {
      const rows = await db
        .selectFrom('uid_credentials')
        .selectAll()
        .where('node_id', '=', nodeId)
        .where('state', '=', state)
        .orderBy('generation', 'desc')
        .execute();
      return rows.map(toCredential);
    },
    async transitionCredential(hash, from, to, atMs) {
      const result = await db
        .updateTable('uid_credentials')
        .set({
          state: to,
          ...(to === 'current' ? { activated_at: atMs } : {}),
          ...(to === 'superseded' || to === 'replaced' ? { superseded_at: atMs } : {}),
        })
        .where('hash', '=', hash)
        .where('state', '=', from)
        .executeTakeFirst();
      return count(result) === 1;
    },
    async recordRotation(nodeId, expectedSeq, expiresAtMs, atMs) {
      const result = await db
        .updateTable('uid_nodes')
        .set({ rotation_seq: expectedSeq + 1, expires_at: expiresAtMs, last_rotated_at: atMs })
        .where('id', '=', nodeId)
        .where('rotation_seq', '=', expectedSeq)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return count(result) === 1;
    },
    async flagNode(nodeId, atMs) {
      await db.updateTable('uid_nodes').set({ flagged_at: atMs }).where('id', '=', nodeId).execute();
    },
    async revokeNodeAndReattach(node, atMs, reason) {
      const revoked = await db
        .updateTable('uid_nodes')
        .set({ revoked_at: atMs, revoked_reason: reason })
        .where('id', '=', node.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await db
        .updateTable('uid_nodes')
        .set({ parent_id: node.parentId })
        .where('parent_id', '=', node.id)
        .execute();
      // Drop the node's own segment from every descendant path, in one statement.
      const parentPath = node.path.slice(0, node.path.slice(0, -1).lastIndexOf('/') + 1);
      await db
        .updateTable('uid_nodes')
        .set({
          path: sql<string>`cast(${parentPath} as text) || substr(path, ${node.path.length + 1})`,
          depth: sql<number>`depth - 1`,
        })
        .where('method_id', '=', node.methodId)
        .where('path', '>', node.path)
        .where('path', '<', subtreeEnd(node.path))
        .execute();
      return count(revoked);
    },
    async revokeSubtree(methodId, path, atMs, reason) {
      // One statement for the whole subtree, writing only the (unindexed) time, so PostgreSQL can
      // update rows in place; the reason is kept once, on the node the revocation was aimed at.
      const result = await db
        .updateTable('uid_nodes')
        .set({ revoked_at: atMs })
        .where('method_id', '=', methodId)
        .where('path', '>=', path)
        .where('path', '<', subtreeEnd(path))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await db
        .updateTable('uid_nodes')
        .set({ revoked_reason: reason })
        .where('method_id', '=', methodId)
        .where('path', '=', path)
        .where('revoked_at', '=', atMs)
        .execute();
      return count(result);
    },
    async revokeMethod(methodId, atMs) {
      const result = await db
        .updateTable('uid_nodes')
        .set({ revoked_at: atMs })
        .where('method_id', '=', methodId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return count(result);
    },
    async listNodes(methodId, path, limit) {
      const rows = await inSubtree(methodId, path).selectAll().orderBy('path').limit(limit).execute();
      return rows.map(toNode);
    },
    async listNearExpiry(nowMs, percent, limit) {
      const rows = await db
        .selectFrom('uid_nodes')
        .selectAll()
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .where(
          sql<boolean>`expires_at - cast(${nowMs} as bigint) <= ttl_seconds * cast(${percent * 10} as bigint)`,
        )
        .where(
          sql<boolean>`coalesce(last_rotated_at, created_at) < cast(${nowMs} as bigint) - ttl_seconds * 500`,
        )
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map(toNode);
    },
    async countNodes(methodId, path) {
      const row = await inSubtree(methodId, path)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

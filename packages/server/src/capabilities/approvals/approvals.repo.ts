import { type Kysely, type Migration, sql } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';
import type {
  ApprovalAction,
  ApprovalDecision,
  ApprovalStatus,
  Approvers,
  Requester,
} from './approvals.model.js';

/** One approval request as stored (times in ms). */
export interface ApprovalRecord {
  id: string;
  requester: Requester;
  action: ApprovalAction;
  /** The canonical JSON of `action`: what `consume` compares. */
  actionJson: string;
  justification: string;
  approvers: Approvers;
  status: ApprovalStatus;
  createdAtMs: number;
  expiresAtMs: number;
  grantExpiresAtMs: number | null;
  usedAtMs: number | null;
  breakGlass: boolean;
  decisions: ApprovalDecision[];
}

export interface ApprovalListFilter {
  status?: ApprovalStatus;
  /** Only these requesters' (`kind:id`). */
  requesterRef?: string;
  limit: number;
}

export interface ApprovalsRepo {
  insert(record: Omit<ApprovalRecord, 'decisions'>): Promise<void>;
  /**
   * Inserts `record` (pending) holding `pendingKey`, unless an unexpired pending request already
   * holds that key: then nothing is inserted and that request's id is returned (null: inserted).
   * The key is unique in the store, so of concurrent inserts on any servers exactly one wins. A key
   * still held by a request past its expiry (the expiry job has not run yet) is released first.
   */
  insertUnlessPending(
    record: Omit<ApprovalRecord, 'decisions'>,
    pendingKey: string,
    nowMs: number,
  ): Promise<string | null>;
  get(id: string): Promise<ApprovalRecord | null>;
  /** Newest first. */
  list(filter: ApprovalListFilter): Promise<ApprovalRecord[]>;
  /** Pending past their expiry, or approved with a grant past its expiry, at `nowMs`. */
  listDue(nowMs: number, limit: number): Promise<ApprovalRecord[]>;
  /** Records one decision; the (request, approver) key makes a second decision by the same one fail. */
  addDecision(id: string, decision: ApprovalDecision & { atMs: number }): Promise<void>;
  /** Moves `from` → `to` only if still `from` (leaving pending releases its key); true when this call moved it. */
  transition(
    id: string,
    from: ApprovalStatus,
    to: ApprovalStatus,
    grantExpiresAtMs?: number,
  ): Promise<boolean>;
  /**
   * The grant's single use, one conditional statement: approved, unexpired, the same action.
   * True for exactly one caller across every server of the store.
   */
  consume(id: string, actionJson: string, nowMs: number): Promise<boolean>;
  /** This requester's requests for exactly this action (canonical JSON), newest first. */
  listForAction(
    requester: Pick<Requester, 'kind' | 'id'>,
    actionJson: string,
    limit: number,
  ): Promise<ApprovalRecord[]>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    approvals: ApprovalsRepo;
  }
}

/** The capability's own migration history (`tessera_migrations_approvals`). */
export const approvalsMigrations = (): Record<string, Migration> => ({
  '0001-approvals': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('approval_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('requester_kind', 'text', (c) => c.notNull())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('requester_name', 'text', (c) => c.notNull())
        .addColumn('action_kind', 'text', (c) => c.notNull())
        .addColumn('action_json', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('approvers_json', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('grant_expires_at_ms', 'bigint')
        .addColumn('used_at_ms', 'bigint')
        .addColumn('break_glass', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createIndex('approval_requests_status_idx')
        .on('approval_requests')
        .columns(['status', 'created_at_ms'])
        .execute();
      await db.schema
        .createIndex('approval_requests_requester_idx')
        .on('approval_requests')
        .columns(['requester_kind', 'requester_id'])
        .execute();
      await db.schema
        .createTable('approval_decisions')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('by_ref', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addPrimaryKeyConstraint('approval_decisions_pk', ['request_id', 'by_ref'])
        .execute();
    },
  },
  // One pending request per (requester, action, approvers) where the requester asks for it
  // (`reusePending`, ADR 0051): set while pending, null after; NULLs do not collide.
  '0002-approval-pending-key': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('approval_requests').addColumn('pending_key', 'varchar(64)').execute();
      await db.schema
        .createIndex('approval_requests_pending_key')
        .on('approval_requests')
        .column('pending_key')
        .unique()
        .execute();
    },
  },
});

interface RequestRow {
  id: string;
  requester_kind: string;
  requester_id: string;
  requester_name: string;
  action_kind: string;
  action_json: string;
  justification: string;
  approvers_json: string;
  status: string;
  created_at_ms: number | string;
  expires_at_ms: number | string;
  grant_expires_at_ms: number | string | null;
  used_at_ms: number | string | null;
  break_glass: number;
  pending_key?: string | null;
}
interface DecisionRow {
  request_id: string;
  by_ref: string;
  decision: string;
  at_ms: number | string;
  comment: string | null;
}
type Tables = { approval_requests: RequestRow; approval_decisions: DecisionRow };

const num = (v: number | string | null) => (v === null ? null : Number(v));

function toRecord(row: RequestRow, decisions: DecisionRow[]): ApprovalRecord {
  return {
    id: row.id,
    requester: {
      kind: row.requester_kind as Requester['kind'],
      id: row.requester_id,
      name: row.requester_name,
    },
    action: JSON.parse(row.action_json) as ApprovalAction,
    actionJson: row.action_json,
    justification: row.justification,
    approvers: JSON.parse(row.approvers_json) as Approvers,
    status: row.status as ApprovalStatus,
    createdAtMs: Number(row.created_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    grantExpiresAtMs: num(row.grant_expires_at_ms),
    usedAtMs: num(row.used_at_ms),
    breakGlass: Number(row.break_glass) === 1,
    decisions: decisions
      .filter((d) => d.request_id === row.id)
      .sort((a, b) => Number(a.at_ms) - Number(b.at_ms))
      .map((d) => ({
        by: d.by_ref,
        decision: d.decision as ApprovalDecision['decision'],
        at: new Date(Number(d.at_ms)).toISOString(),
        ...(d.comment !== null ? { comment: d.comment } : {}),
      })),
  };
}

export function createApprovalsRepo({ db }: QueryTarget): ApprovalsRepo {
  const t = db as unknown as Kysely<Tables>;
  async function withDecisions(rows: RequestRow[]): Promise<ApprovalRecord[]> {
    if (rows.length === 0) return [];
    const decisions = await t
      .selectFrom('approval_decisions')
      .selectAll()
      .where(
        'request_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return rows.map((r) => toRecord(r, decisions));
  }
  const toRow = (a: Omit<ApprovalRecord, 'decisions'>): RequestRow => ({
    id: a.id,
    requester_kind: a.requester.kind,
    requester_id: a.requester.id,
    requester_name: a.requester.name,
    action_kind: a.action.kind,
    action_json: a.actionJson,
    justification: a.justification,
    approvers_json: JSON.stringify(a.approvers),
    status: a.status,
    created_at_ms: a.createdAtMs,
    expires_at_ms: a.expiresAtMs,
    grant_expires_at_ms: a.grantExpiresAtMs,
    used_at_ms: a.usedAtMs,
    break_glass: a.breakGlass ? 1 : 0,
  });
  return {
    async insert(a) {
      await t.insertInto('approval_requests').values(toRow(a)).execute();
    },
    async insertUnlessPending(a, pendingKey, nowMs) {
      await t
        .updateTable('approval_requests')
        .set({ pending_key: null })
        .where('pending_key', '=', pendingKey)
        .where('expires_at_ms', '<=', nowMs)
        .execute();
      // Twice at most: the holder found by the conflict could only leave pending in between if a
      // writer outside the writers' lock changed it (never, on either store).
      for (let attempt = 0; attempt < 2; attempt++) {
        const inserted = await t
          .insertInto('approval_requests')
          .values({ ...toRow(a), pending_key: pendingKey })
          .onConflict((oc) => oc.column('pending_key').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return null;
        const holder = await t
          .selectFrom('approval_requests')
          .select('id')
          .where('pending_key', '=', pendingKey)
          .executeTakeFirst();
        if (holder) return holder.id;
      }
      throw new Error('approval pending key: held, then released, twice');
    },
    async get(id) {
      const row = await t.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? ((await withDecisions([row]))[0] ?? null) : null;
    },
    async list(filter) {
      let q = t.selectFrom('approval_requests').selectAll();
      if (filter.status) q = q.where('status', '=', filter.status);
      if (filter.requesterRef) {
        const [kind, ...rest] = filter.requesterRef.split(':');
        q = q.where('requester_kind', '=', kind ?? '').where('requester_id', '=', rest.join(':'));
      }
      const rows = await q
        .orderBy('created_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(filter.limit)
        .execute();
      return withDecisions(rows);
    },
    async listDue(nowMs, limit) {
      const rows = await t
        .selectFrom('approval_requests')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'pending'), eb('expires_at_ms', '<=', nowMs)]),
            eb.and([eb('status', '=', 'approved'), eb('grant_expires_at_ms', '<=', nowMs)]),
          ]),
        )
        .limit(limit)
        .execute();
      return withDecisions(rows);
    },
    async addDecision(id, d) {
      await t
        .insertInto('approval_decisions')
        .values({
          request_id: id,
          by_ref: d.by,
          decision: d.decision,
          at_ms: d.atMs,
          comment: d.comment ?? null,
        })
        .execute();
    },
    async transition(id, from, to, grantExpiresAtMs) {
      const result = await t
        .updateTable('approval_requests')
        .set({
          status: to,
          ...(grantExpiresAtMs !== undefined ? { grant_expires_at_ms: grantExpiresAtMs } : {}),
          ...(from === 'pending' && to !== 'pending' ? { pending_key: null } : {}),
        })
        .where('id', '=', id)
        .where('status', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listForAction(requester, actionJson, limit) {
      const rows = await t
        .selectFrom('approval_requests')
        .selectAll()
        .where('requester_kind', '=', requester.kind)
        .where('requester_id', '=', requester.id)
        .where('action_json', '=', actionJson)
        .orderBy('created_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return withDecisions(rows);
    },
    async consume(id, actionJson, nowMs) {
      const result = await sql`
        update approval_requests set status = 'used', used_at_ms = ${nowMs}
        where id = ${id} and status = 'approved' and action_json = ${actionJson}
          and grant_expires_at_ms > ${nowMs}`.execute(t);
      return Number(result.numAffectedRows ?? 0) === 1;
    },
  };
}

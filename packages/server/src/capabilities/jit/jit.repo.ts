import type { Kysely, Migration } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';

/** A role an identity may activate for a while, instead of holding it (zero standing privilege). */
export interface Eligibility {
  id: string;
  identityId: string;
  roleName: string;
  maxDurationSec: number;
  /** Whether the identity may take it without approval in an emergency (alerted at once). */
  breakGlass: boolean;
  /** Who must approve an activation: set by whoever made the role eligible, never by the requester. */
  approvers: JitApprovers;
  createdAtMs: number;
}

/**
 * The approvers of an eligible role: the identity's owner (a person, or any one member of an owning
 * group), or `required` distinct members of a named IdP group (N of M, the two-person rule).
 */
export type JitApprovers = { kind: 'owner' } | { kind: 'group'; group: string; required: number };

/** One activation: a temporary role holding copies of the eligible role's rules, expiring with it. */
export interface Activation {
  id: string;
  identityId: string;
  authMethodId: string;
  roleName: string;
  /** The temporary role (`jit-<id>`) whose rules expire at `expiresAtMs`. */
  grantRole: string;
  approvalId: string | null;
  breakGlass: boolean;
  createdAtMs: number;
  expiresAtMs: number;
  endedAtMs: number | null;
}

export interface JitRepo {
  insertEligibility(e: Eligibility): Promise<void>;
  getEligibility(identityId: string, roleName: string): Promise<Eligibility | null>;
  listEligibilities(identityId: string | null): Promise<Eligibility[]>;
  deleteEligibility(id: string): Promise<boolean>;
  insertActivation(a: Activation): Promise<void>;
  listActivations(identityId: string | null, limit: number): Promise<Activation[]>;
  /** Activations past their end not yet cleaned up. */
  listDueActivations(nowMs: number, limit: number): Promise<Activation[]>;
  markEnded(id: string, nowMs: number): Promise<boolean>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    jit: JitRepo;
  }
}

export const jitMigrations = (): Record<string, Migration> => ({
  '0001-jit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('jit_eligibilities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addColumn('max_duration_sec', 'integer', (c) => c.notNull())
        .addColumn('break_glass', 'integer', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('jit_eligibilities_uq', ['identity_id', 'role_name'])
        .execute();
      await db.schema
        .createTable('jit_activations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('auth_method_id', 'text', (c) => c.notNull())
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addColumn('grant_role', 'text', (c) => c.notNull())
        .addColumn('approval_id', 'text')
        .addColumn('break_glass', 'integer', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('ended_at_ms', 'bigint')
        .execute();
    },
  },
  // Null: the owner decides (every eligibility made before approvers could be chosen).
  '0002-jit-approvers': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jit_eligibilities').addColumn('approvers_json', 'text').execute();
    },
  },
});

interface ERow {
  id: string;
  identity_id: string;
  role_name: string;
  max_duration_sec: number;
  break_glass: number;
  approvers_json: string | null;
  created_at_ms: number | string;
}
interface ARow {
  id: string;
  identity_id: string;
  auth_method_id: string;
  role_name: string;
  grant_role: string;
  approval_id: string | null;
  break_glass: number;
  created_at_ms: number | string;
  expires_at_ms: number | string;
  ended_at_ms: number | string | null;
}
const toE = (r: ERow): Eligibility => ({
  id: r.id,
  identityId: r.identity_id,
  roleName: r.role_name,
  maxDurationSec: Number(r.max_duration_sec),
  breakGlass: Number(r.break_glass) === 1,
  approvers: r.approvers_json ? (JSON.parse(r.approvers_json) as JitApprovers) : { kind: 'owner' },
  createdAtMs: Number(r.created_at_ms),
});
const toA = (r: ARow): Activation => ({
  id: r.id,
  identityId: r.identity_id,
  authMethodId: r.auth_method_id,
  roleName: r.role_name,
  grantRole: r.grant_role,
  approvalId: r.approval_id,
  breakGlass: Number(r.break_glass) === 1,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  endedAtMs: r.ended_at_ms === null ? null : Number(r.ended_at_ms),
});

export function createJitRepo({ db }: QueryTarget): JitRepo {
  const t = db as unknown as Kysely<{ jit_eligibilities: ERow; jit_activations: ARow }>;
  return {
    async insertEligibility(e) {
      await t
        .insertInto('jit_eligibilities')
        .values({
          id: e.id,
          identity_id: e.identityId,
          role_name: e.roleName,
          max_duration_sec: e.maxDurationSec,
          break_glass: e.breakGlass ? 1 : 0,
          approvers_json: e.approvers.kind === 'owner' ? null : JSON.stringify(e.approvers),
          created_at_ms: e.createdAtMs,
        })
        .execute();
    },
    async getEligibility(identityId, roleName) {
      const row = await t
        .selectFrom('jit_eligibilities')
        .selectAll()
        .where('identity_id', '=', identityId)
        .where('role_name', '=', roleName)
        .executeTakeFirst();
      return row ? toE(row) : null;
    },
    async listEligibilities(identityId) {
      let q = t.selectFrom('jit_eligibilities').selectAll();
      if (identityId) q = q.where('identity_id', '=', identityId);
      return (await q.orderBy('created_at_ms').limit(500).execute()).map(toE);
    },
    async deleteEligibility(id) {
      const r = await t.deleteFrom('jit_eligibilities').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    },
    async insertActivation(a) {
      await t
        .insertInto('jit_activations')
        .values({
          id: a.id,
          identity_id: a.identityId,
          auth_method_id: a.authMethodId,
          role_name: a.roleName,
          grant_role: a.grantRole,
          approval_id: a.approvalId,
          break_glass: a.breakGlass ? 1 : 0,
          created_at_ms: a.createdAtMs,
          expires_at_ms: a.expiresAtMs,
          ended_at_ms: a.endedAtMs,
        })
        .execute();
    },
    async listActivations(identityId, limit) {
      let q = t.selectFrom('jit_activations').selectAll();
      if (identityId) q = q.where('identity_id', '=', identityId);
      return (await q.orderBy('created_at_ms', 'desc').limit(limit).execute()).map(toA);
    },
    async listDueActivations(nowMs, limit) {
      const rows = await t
        .selectFrom('jit_activations')
        .selectAll()
        .where('ended_at_ms', 'is', null)
        .where('expires_at_ms', '<=', nowMs)
        .limit(limit)
        .execute();
      return rows.map(toA);
    },
    async markEnded(id, nowMs) {
      const r = await t
        .updateTable('jit_activations')
        .set({ ended_at_ms: nowMs })
        .where('id', '=', id)
        .where('ended_at_ms', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
}

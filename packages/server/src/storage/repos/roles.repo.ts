import { type Kysely, type Selectable, sql } from 'kysely';
import type { ClaimFilter } from '../../core/access/access.claims.js';
import type { Capability, RuleType } from '../../core/access/access.policy.js';
import {
  namePath,
  type Role,
  type RoleAssociation,
  type RoleRule,
  type RoleSummary,
} from '../../core/roles/roles.model.js';
import type { RoleRepo } from '../../core/roles/roles.repo.js';
import type { Dialect } from '../database.js';
import type { Database, RoleRuleTable, RoleTable } from '../schema.js';

/** The PostgreSQL channel on which servers learn that roles or associations changed. */
export const ACCESS_CHANNEL = 'tessera_access';

function toRole(row: Selectable<RoleTable>): Role {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    builtin: row.builtin === 1,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
  };
}

function toRule(row: Selectable<RoleRuleTable>): RoleRule {
  return {
    id: row.id,
    roleId: row.role_id,
    ruleType: row.rule_type as RuleType,
    path: row.path,
    capabilities: JSON.parse(row.capabilities) as Capability[],
    conditions: row.conditions === null ? null : JSON.parse(row.conditions),
    expiresAtMs: row.expires_at,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
  };
}

const ruleRow = (r: RoleRule) => ({
  id: r.id,
  role_id: r.roleId,
  rule_type: r.ruleType,
  path: r.path,
  capabilities: JSON.stringify(r.capabilities),
  conditions: r.conditions ? JSON.stringify(r.conditions) : null,
  expires_at: r.expiresAtMs ?? null,
  created_at: r.createdAtMs,
  updated_at: r.updatedAtMs,
});

export function createRoleRepo(db: Kysely<Database>, dialect: Dialect): RoleRepo {
  const associations = () =>
    db
      .selectFrom('role_associations as a')
      .innerJoin('roles as r', 'r.id', 'a.role_id')
      .innerJoin('auth_methods as m', 'm.id', 'a.auth_method_id')
      .select([
        'a.id',
        'a.role_id',
        'r.name as role_name',
        'a.auth_method_id',
        'm.name as method_name',
        'a.claims',
        'a.created_at',
      ]);
  type AssociationRow = Awaited<ReturnType<ReturnType<typeof associations>['execute']>>[number];
  const toAssociation = (row: AssociationRow): RoleAssociation => ({
    id: row.id,
    roleId: row.role_id,
    roleName: row.role_name,
    authMethodId: row.auth_method_id,
    authMethodName: row.method_name,
    claims: JSON.parse(row.claims) as ClaimFilter,
    createdAtMs: row.created_at,
  });

  return {
    async insertRole(role) {
      await db
        .insertInto('roles')
        .values({
          id: role.id,
          name: role.name,
          path: namePath(role.name),
          description: role.description,
          builtin: role.builtin ? 1 : 0,
          created_at: role.createdAtMs,
          updated_at: role.updatedAtMs,
        })
        .execute();
    },
    async getRole(name) {
      const row = await db
        .selectFrom('roles')
        .selectAll()
        .where('path', '=', namePath(name))
        .executeTakeFirst();
      return row ? toRole(row) : null;
    },
    async getRolesById(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('roles').selectAll().where('id', 'in', ids).execute();
      return rows.map(toRole);
    },
    async listRoles(limit, afterPath) {
      let q = db
        .selectFrom('roles')
        .selectAll()
        .select((eb) => [
          eb
            .selectFrom('role_rules')
            .select(eb.fn.countAll<number>().as('n'))
            .whereRef('role_rules.role_id', '=', 'roles.id')
            .as('rule_count'),
          eb
            .selectFrom('role_associations')
            .innerJoin('auth_methods', 'auth_methods.id', 'role_associations.auth_method_id')
            .select(eb.fn.countAll<number>().as('n'))
            .whereRef('role_associations.role_id', '=', 'roles.id')
            .as('association_count'),
        ]);
      if (afterPath) q = q.where('path', '>', afterPath);
      const rows = await q.orderBy('path').limit(limit).execute();
      return rows.map(
        (row): RoleSummary => ({
          ...toRole(row),
          ruleCount: Number(row.rule_count ?? 0),
          associationCount: Number(row.association_count ?? 0),
        }),
      );
    },
    async deleteRole(id) {
      await db.deleteFrom('role_rules').where('role_id', '=', id).execute();
      await db.deleteFrom('role_associations').where('role_id', '=', id).execute();
      await db.deleteFrom('role_inclusions').where('role_id', '=', id).execute();
      await db.deleteFrom('roles').where('id', '=', id).execute();
    },
    async touchRole(id, atMs) {
      await db.updateTable('roles').set({ updated_at: atMs }).where('id', '=', id).execute();
    },

    async listRules(roleIds) {
      if (roleIds.length === 0) return [];
      const rows = await db
        .selectFrom('role_rules')
        .selectAll()
        .where('role_id', 'in', roleIds)
        .orderBy('role_id')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toRule);
    },
    async getRule(roleId, ruleType, path) {
      const row = await db
        .selectFrom('role_rules')
        .selectAll()
        .where('role_id', '=', roleId)
        .where('rule_type', '=', ruleType)
        .where('path', '=', path)
        .executeTakeFirst();
      return row ? toRule(row) : null;
    },
    async insertRule(rule) {
      await db.insertInto('role_rules').values(ruleRow(rule)).execute();
    },
    async updateRule(rule) {
      const { id, ...row } = ruleRow(rule);
      await db.updateTable('role_rules').set(row).where('id', '=', id).execute();
    },
    async deleteRule(id) {
      await db.deleteFrom('role_rules').where('id', '=', id).execute();
    },

    async listIncludes(roleIds) {
      if (roleIds.length === 0) return [];
      const rows = await db
        .selectFrom('role_inclusions')
        .select(['role_id', 'included_id'])
        .where('role_id', 'in', roleIds)
        .orderBy('created_at')
        .orderBy('included_id')
        .execute();
      return rows.map((r) => ({ roleId: r.role_id, includedId: r.included_id }));
    },
    async listIncludedBy(roleId) {
      const rows = await db
        .selectFrom('role_inclusions')
        .select('role_id')
        .where('included_id', '=', roleId)
        .execute();
      return rows.map((r) => r.role_id);
    },
    async insertInclude(roleId, includedId, atMs) {
      await db
        .insertInto('role_inclusions')
        .values({ role_id: roleId, included_id: includedId, created_at: atMs })
        .execute();
    },
    async deleteInclude(roleId, includedId) {
      const result = await db
        .deleteFrom('role_inclusions')
        .where('role_id', '=', roleId)
        .where('included_id', '=', includedId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async insertAssociation(a) {
      await db
        .insertInto('role_associations')
        .values({
          id: a.id,
          role_id: a.roleId,
          auth_method_id: a.authMethodId,
          claims: JSON.stringify(a.claims),
          created_at: a.createdAtMs,
        })
        .execute();
    },
    async getAssociation(id) {
      const row = await associations().where('a.id', '=', id).executeTakeFirst();
      return row ? toAssociation(row) : null;
    },
    async listAssociations(by) {
      const q =
        'roleId' in by
          ? associations().where('a.role_id', '=', by.roleId)
          : associations().where('a.auth_method_id', '=', by.authMethodId);
      return (await q.orderBy('a.created_at').orderBy('a.id').execute()).map(toAssociation);
    },
    async listAssociationsOfRoles(roleIds) {
      if (roleIds.length === 0) return [];
      const out: RoleAssociation[] = [];
      // One query per chunk rather than one per role (plans read every role: BENCHMARKS.md).
      for (let i = 0; i < roleIds.length; i += 5000) {
        const rows = await associations()
          .where('a.role_id', 'in', roleIds.slice(i, i + 5000))
          .orderBy('a.created_at')
          .orderBy('a.id')
          .execute();
        out.push(...rows.map(toAssociation));
      }
      return out;
    },
    async deleteAssociation(id) {
      await db.deleteFrom('role_associations').where('id', '=', id).execute();
    },
    async deleteAssociationsOfMethod(authMethodId) {
      const result = await db
        .deleteFrom('role_associations')
        .where('auth_method_id', '=', authMethodId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async announceChange() {
      // Delivered to listeners when (and only if) the transaction commits.
      if (dialect === 'postgres') await sql`select pg_notify(${ACCESS_CHANNEL}, '')`.execute(db);
    },
  };
}

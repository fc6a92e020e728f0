import type { Kysely, Selectable } from 'kysely';
import type { AuthMethod, AuthMethodTypeName } from '../../core/auth-methods/auth-methods.model.js';
import type { AuthMethodRepo } from '../../core/auth-methods/auth-methods.repo.js';
import { prepared, type QueryTarget } from '../prepared.js';
import type { AuthMethodTable, Database } from '../schema.js';

const getQuery = prepared((db, id: string) => db.selectFrom('auth_methods').selectAll().where('id', '=', id));

function toMethod(row: Selectable<AuthMethodTable>): AuthMethod {
  return {
    id: row.id,
    name: row.name,
    type: row.type as AuthMethodTypeName,
    identityId: row.identity_id,
    settings: JSON.parse(row.settings),
    secretHash: row.secret_hash,
    isAdmin: row.is_admin === 1,
    boundCidrs: JSON.parse(row.bound_cidrs),
    expiresAtMs: row.expires_at,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
  };
}

const toRow = (m: AuthMethod) => ({
  id: m.id,
  name: m.name,
  type: m.type,
  identity_id: m.identityId,
  settings: JSON.stringify(m.settings),
  secret_hash: m.secretHash,
  is_admin: m.isAdmin ? 1 : 0,
  bound_cidrs: JSON.stringify(m.boundCidrs),
  expires_at: m.expiresAtMs,
  created_at: m.createdAtMs,
  updated_at: m.updatedAtMs,
});

export function createAuthMethodRepo(target: QueryTarget): AuthMethodRepo {
  const { db } = target;
  return {
    async insert(m) {
      await db.insertInto('auth_methods').values(toRow(m)).execute();
    },
    async get(id) {
      const row = (await getQuery(target, id))[0];
      return row ? toMethod(row) : null;
    },
    async getByName(name) {
      const row = await db.selectFrom('auth_methods').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toMethod(row) : null;
    },
    async list(type, limit, afterId) {
      let q = db.selectFrom('auth_methods').selectAll();
      if (type) q = q.where('type', '=', type);
      if (afterId) q = q.where('id', '>', afterId);
      return (await q.orderBy('id').limit(limit).execute()).map(toMethod);
    },
    async update(m) {
      const { id, ...rest } = toRow(m);
      await db.updateTable('auth_methods').set(rest).where('id', '=', id).execute();
    },
    async delete(id) {
      await db.deleteFrom('auth_methods').where('id', '=', id).execute();
    },
  };
}

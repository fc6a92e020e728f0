import type { Selectable } from 'kysely';
import type { AuthMethod, AuthMethodTypeName } from '../../core/auth-methods/auth-methods.model.js';
import type { AuthMethodRepo } from '../../core/auth-methods/auth-methods.repo.js';
import { prepared, type QueryTarget } from '../prepared.js';
import type { AuthMethodTable } from '../schema.js';

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

/**
 * Auth methods are read on every authentication and change rarely, so reads by id are cached per
 * process. A change through this process clears the entry at once (and every unit rollback clears
 * the cache); a change made by another server is seen within {@link METHOD_CACHE_MS}. Deletion needs
 * no cache at all to take effect: it revokes every node and session of the method.
 */
export class AuthMethodCache {
  private readonly entries = new Map<string, { method: AuthMethod | null; atMs: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  get(id: string): AuthMethod | null | undefined {
    const hit = this.entries.get(id);
    if (!hit || this.now() - hit.atMs > METHOD_CACHE_MS) return undefined;
    return hit.method;
  }

  set(id: string, method: AuthMethod | null): void {
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(id, { method, atMs: this.now() });
  }

  forget(id?: string): void {
    if (id === undefined) this.entries.clear();
    else this.entries.delete(id);
  }
}

export const METHOD_CACHE_MS = 1000;

export function createAuthMethodRepo(
  target: QueryTarget,
  cache: AuthMethodCache | null = null,
): AuthMethodRepo {
  const { db } = target;
  return {
    async insert(m) {
      cache?.forget(m.id);
      await db.insertInto('auth_methods').values(toRow(m)).execute();
    },
    async get(id) {
      const hit = cache?.get(id);
      if (hit !== undefined) return hit;
      const row = (await getQuery(target, id))[0];
      const method = row ? toMethod(row) : null;
      // Only existing methods are cached: a miss may be a method another server is creating.
      if (method) cache?.set(id, method);
      return method;
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
      cache?.forget(m.id);
      const { id, ...rest } = toRow(m);
      await db.updateTable('auth_methods').set(rest).where('id', '=', id).execute();
    },
    async delete(id) {
      cache?.forget(id);
      await db.deleteFrom('auth_methods').where('id', '=', id).execute();
    },
    async findBySecretHash(secretHash) {
      const row = await db
        .selectFrom('auth_methods')
        .selectAll()
        .where('secret_hash', '=', secretHash)
        .executeTakeFirst();
      return row ? toMethod(row) : null;
    },
  };
}

import { type Kysely, sql } from 'kysely';
import type { DynamicRepo, DynamicSecret, Lease, LeaseState } from '../../core/dynamic/dynamic.model.js';
import { LIVE_STATES } from '../../core/dynamic/dynamic.model.js';
import type { ProducerType } from '../../core/dynamic/producer.port.js';
import type { Dialect } from '../database.js';
import type { Database, DynamicSecretTable, LeaseTable } from '../schema.js';

const toItem = (r: DynamicSecretTable): DynamicSecret => ({
  id: r.id,
  name: r.name,
  type: r.type as ProducerType,
  description: r.description,
  publicSettings: JSON.parse(r.public_settings) as Record<string, unknown>,
  sealedSettings: r.sealed_settings,
  wrappedKey: r.wrapped_key,
  kekVersion: Number(r.kek_version),
  defaultTtlSeconds: Number(r.default_ttl_seconds),
  maxTtlSeconds: Number(r.max_ttl_seconds),
  leaseQuota: Number(r.lease_quota),
  sweepDrop: Number(r.sweep_drop) === 1,
  createdAtMs: Number(r.created_at),
  updatedAtMs: Number(r.updated_at),
});

const toLease = (r: LeaseTable): Lease => ({
  id: r.id,
  itemId: r.item_id,
  itemName: r.item_name,
  identityId: r.identity_id,
  username: r.username,
  state: r.state as LeaseState,
  createdAtMs: Number(r.created_at),
  expiresAtMs: Number(r.expires_at),
  maxExpiresAtMs: Number(r.max_expires_at),
  nextAttemptAtMs: Number(r.next_attempt_at),
  attempts: Number(r.attempts),
  lastError: r.last_error,
  revokedAtMs: r.revoked_at === null ? null : Number(r.revoked_at),
  authMethodId: r.auth_method_id ?? null,
  uidNodeId: r.uid_node_id ?? null,
  uidNodePath: r.uid_node_path ?? null,
});

const columns: Record<string, keyof LeaseTable> = {
  state: 'state',
  expiresAtMs: 'expires_at',
  maxExpiresAtMs: 'max_expires_at',
  nextAttemptAtMs: 'next_attempt_at',
  attempts: 'attempts',
  lastError: 'last_error',
  revokedAtMs: 'revoked_at',
  createdAtMs: 'created_at',
};

/** `[low, high)` of the names under a prefix (byte order on both stores). */
const prefixHigh = (prefix: string) => `${prefix}\u{10ffff}`;

export function createDynamicRepo(db: Kysely<Database>, dialect: Dialect): DynamicRepo {
  const live = [...LIVE_STATES];
  return {
    async insertItem(item) {
      await db
        .insertInto('dynamic_secrets')
        .values({
          id: item.id,
          name: item.name,
          type: item.type,
          description: item.description,
          public_settings: JSON.stringify(item.publicSettings),
          sealed_settings: item.sealedSettings,
          wrapped_key: item.wrappedKey,
          kek_version: item.kekVersion,
          default_ttl_seconds: item.defaultTtlSeconds,
          max_ttl_seconds: item.maxTtlSeconds,
          lease_quota: item.leaseQuota,
          sweep_drop: item.sweepDrop ? 1 : 0,
          created_at: item.createdAtMs,
          updated_at: item.updatedAtMs,
        })
        .execute();
    },
    async getItem(name) {
      const row = await db
        .selectFrom('dynamic_secrets')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? toItem(row) : null;
    },
    async getItemById(id) {
      const row = await db.selectFrom('dynamic_secrets').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toItem(row) : null;
    },
    async listItems(prefix, afterName, limit) {
      let q = db
        .selectFrom('dynamic_secrets')
        .selectAll()
        .where('name', '>=', prefix)
        .where('name', '<', prefixHigh(prefix));
      if (afterName) q = q.where('name', '>', afterName);
      return (await q.orderBy('name').limit(limit).execute()).map(toItem);
    },
    async deleteItem(id) {
      await db.deleteFrom('leases').where('item_id', '=', id).execute();
      await db.deleteFrom('dynamic_secrets').where('id', '=', id).execute();
    },
    async insertLease(l) {
      await db
        .insertInto('leases')
        .values({
          id: l.id,
          item_id: l.itemId,
          item_name: l.itemName,
          identity_id: l.identityId,
          username: l.username,
          state: l.state,
          created_at: l.createdAtMs,
          expires_at: l.expiresAtMs,
          max_expires_at: l.maxExpiresAtMs,
          next_attempt_at: l.nextAttemptAtMs,
          attempts: l.attempts,
          last_error: l.lastError,
          auth_method_id: l.authMethodId ?? null,
          uid_node_id: l.uidNodeId ?? null,
          uid_node_path: l.uidNodePath ?? null,
          revoked_at: l.revokedAtMs,
        })
        .execute();
    },
    async getLease(id) {
      const row = await db.selectFrom('leases').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toLease(row) : null;
    },
    async updateLease(id, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch)) if (columns[k]) set[columns[k]!] = v;
      if (Object.keys(set).length > 0) await db.updateTable('leases').set(set).where('id', '=', id).execute();
    },
    async markRevoked(ids, nowMs) {
      for (let i = 0; i < ids.length; i += 1000)
        await db
          .updateTable('leases')
          .set({ state: 'revoked', revoked_at: nowMs, last_error: null })
          .where('id', 'in', ids.slice(i, i + 1000))
          .execute();
    },
    async countLive(identityId, itemId) {
      const row = await db
        .selectFrom('leases')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('identity_id', '=', identityId)
        .where('item_id', '=', itemId)
        .where('state', 'in', live)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async countLiveOfItem(itemId) {
      const row = await db
        .selectFrom('leases')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('item_id', '=', itemId)
        .where('state', 'in', live)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async claimDue(nowMs, claimUntilMs, limit) {
      let due = db
        .selectFrom('leases')
        .select('id')
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'active'), eb('expires_at', '<=', nowMs)]),
            eb.and([eb('state', '=', 'revoking'), eb('next_attempt_at', '<=', nowMs)]),
            eb.and([eb('state', '=', 'creating'), eb('next_attempt_at', '<=', nowMs)]),
          ]),
        )
        .limit(limit);
      // Several servers: each claims rows no other is claiming (the claim itself is the lock).
      if (dialect === 'postgres') due = due.forUpdate().skipLocked();
      const rows = await db
        .updateTable('leases')
        .set({ state: 'revoking', next_attempt_at: claimUntilMs, attempts: sql`attempts + 1` })
        .where('id', 'in', due)
        .returningAll()
        .execute();
      return rows.map(toLease);
    },
    async claimOne(id, claimUntilMs) {
      const row = await db
        .updateTable('leases')
        .set({ state: 'revoking', next_attempt_at: claimUntilMs, attempts: sql`attempts + 1` })
        .where('id', '=', id)
        .where('state', 'in', ['active', 'revoking', 'revoke_failed'])
        .returningAll()
        .executeTakeFirst();
      return row ? toLease(row) : null;
    },
    async markDue(filter, nowMs) {
      let q = db
        .updateTable('leases')
        .set({ expires_at: sql`case when expires_at < ${nowMs} then expires_at else ${nowMs} end` })
        .where('state', 'in', ['active', 'creating']);
      if (filter.identityId) q = q.where('identity_id', '=', filter.identityId);
      if (filter.itemId) q = q.where('item_id', '=', filter.itemId);
      if (filter.itemPrefix)
        q = q
          .where('item_name', '>=', filter.itemPrefix)
          .where('item_name', '<', prefixHigh(filter.itemPrefix));
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows ?? 0);
    },
    async markCredentialDue(credential, nowMs) {
      let q = db
        .updateTable('leases')
        .set({ expires_at: sql`case when expires_at < ${nowMs} then expires_at else ${nowMs} end` })
        .where('state', 'in', ['active', 'creating']);
      const { kind, subject } = credential;
      if (kind === 'node') q = q.where('uid_node_id', '=', subject);
      else if (kind === 'method') q = q.where('auth_method_id', '=', subject);
      else if (kind === 'identity') q = q.where('identity_id', '=', subject);
      else {
        // The subtree of a node: every lease whose UID path has the node as a segment.
        const escaped = subject.replace(/[\\%_]/g, (c) => `\\${c}`);
        q = q.where(sql<boolean>`uid_node_path like ${`%/${escaped}/%`} escape '\\'`);
      }
      const result = await q.executeTakeFirst();
      return Number(result.numUpdatedRows ?? 0);
    },
    async liveUsernames(itemId) {
      const rows = await db
        .selectFrom('leases')
        .select('username')
        .where('item_id', '=', itemId)
        .where('state', 'in', live)
        .execute();
      return new Set(rows.map((r) => r.username));
    },
    async listLeases(filter, limit) {
      let q = db.selectFrom('leases').selectAll();
      if (filter.itemName) q = q.where('item_name', '=', filter.itemName);
      if (filter.itemPrefix)
        q = q
          .where('item_name', '>=', filter.itemPrefix)
          .where('item_name', '<', prefixHigh(filter.itemPrefix));
      if (filter.identityId) q = q.where('identity_id', '=', filter.identityId);
      if (filter.state) q = q.where('state', '=', filter.state);
      if (filter.afterId) q = q.where('id', '>', filter.afterId);
      return (await q.orderBy('id').limit(limit).execute()).map(toLease);
    },
    async countState(state) {
      const row = await db
        .selectFrom('leases')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', state)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

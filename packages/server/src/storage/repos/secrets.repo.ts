import { type Selectable, sql } from 'kysely';
import type {
  SecretApprovalPolicy,
  SecretFormat,
  SecretItem,
  SecretValueRecord,
  SecretVersionRecord,
} from '../../core/secrets/secrets.model.js';
import type { SecretKeyRepo, SecretsRepo, WrappedKind } from '../../core/secrets/secrets.repo.js';
import { prepared, type QueryTarget } from '../prepared.js';
import type { SecretTable } from '../schema.js';

/** The table of each kind of row whose data key a secret KEK wraps (same `id`, `wrapped_key`, `kek_version`). */
const WRAPPED_TABLES = {
  secret: 'secrets',
  dynamic: 'dynamic_secrets',
  rotated: 'rotated_secrets',
} as const satisfies Record<WrappedKind, string>;

const ITEM_COLUMNS = [
  's.id',
  's.name',
  's.folder',
  's.format',
  's.description',
  's.tags',
  's.max_versions',
  's.latest_version',
  's.wrapped_key',
  's.kek_version',
  's.created_at',
  's.updated_at',
  's.deleted_at',
  's.purge_after',
  's.approval',
] as const;

const VERSION_COLUMNS = [
  'v.version as v_version',
  'v.ciphertext as v_ciphertext',
  'v.size_bytes as v_size_bytes',
  'v.created_at as v_created_at',
] as const;

interface VersionColumns {
  v_version: number;
  v_ciphertext: string;
  v_size_bytes: number;
  v_created_at: number;
}

/** The read path of a value: the item and one version (null: the latest) in one statement. */
const readValueQuery = prepared((db, name: string, version: number | null) =>
  db
    .selectFrom('secrets as s')
    .innerJoin('secret_versions as v', (join) =>
      join
        .onRef('v.secret_id', '=', 's.id')
        .on(sql<boolean>`v.version = coalesce(${version}, s.latest_version)`),
    )
    .select([...ITEM_COLUMNS, ...VERSION_COLUMNS])
    .where('s.name', '=', name),
);

function toItem(row: Selectable<SecretTable>): SecretItem {
  return {
    id: row.id,
    name: row.name,
    folder: row.folder,
    format: row.format as SecretFormat,
    description: row.description,
    tags: JSON.parse(row.tags) as string[],
    maxVersions: Number(row.max_versions),
    latestVersion: Number(row.latest_version),
    createdAtMs: Number(row.created_at),
    updatedAtMs: Number(row.updated_at),
    deletedAtMs: row.deleted_at === null ? null : Number(row.deleted_at),
    purgeAfterMs: row.purge_after === null ? null : Number(row.purge_after),
    wrappedKey: row.wrapped_key,
    kekVersion: Number(row.kek_version),
    approval: row.approval ? (JSON.parse(row.approval) as SecretApprovalPolicy) : null,
  };
}

function toValueRecord(row: Selectable<SecretTable> & VersionColumns): SecretValueRecord {
  const item = toItem(row);
  return {
    item,
    version: {
      secretId: item.id,
      version: Number(row.v_version),
      ciphertext: row.v_ciphertext,
      sizeBytes: Number(row.v_size_bytes),
      createdAtMs: Number(row.v_created_at),
    },
  };
}

const itemRow = (i: SecretItem) => ({
  id: i.id,
  name: i.name,
  folder: i.folder,
  format: i.format,
  description: i.description,
  tags: JSON.stringify(i.tags),
  max_versions: i.maxVersions,
  latest_version: i.latestVersion,
  wrapped_key: i.wrappedKey,
  kek_version: i.kekVersion,
  created_at: i.createdAtMs,
  updated_at: i.updatedAtMs,
  deleted_at: i.deletedAtMs,
  purge_after: i.purgeAfterMs,
  approval: i.approval ? JSON.stringify(i.approval) : null,
});

const versionRow = (v: SecretVersionRecord) => ({
  secret_id: v.secretId,
  version: v.version,
  ciphertext: v.ciphertext,
  size_bytes: v.sizeBytes,
  created_at: v.createdAtMs,
});

export function createSecretsRepo(target: QueryTarget): SecretsRepo {
  const { db } = target;
  return {
    async insert(item, first) {
      await db.insertInto('secrets').values(itemRow(item)).execute();
      await db.insertInto('secret_versions').values(versionRow(first)).execute();
    },
    async get(name) {
      const row = await db.selectFrom('secrets').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toItem(row) : null;
    },
    async readValue(name, version) {
      const [row] = await readValueQuery(target, name, version);
      return row ? toValueRecord(row as Selectable<SecretTable> & VersionColumns) : null;
    },
    async readLatestValues(names) {
      if (names.length === 0) return [];
      const rows = await db
        .selectFrom('secrets as s')
        .innerJoin('secret_versions as v', (join) =>
          join.onRef('v.secret_id', '=', 's.id').onRef('v.version', '=', 's.latest_version'),
        )
        .select([...ITEM_COLUMNS, ...VERSION_COLUMNS])
        .where('s.name', 'in', [...names])
        .execute();
      return rows.map((row) => toValueRecord(row as Selectable<SecretTable> & VersionColumns));
    },
    async versions(secretId) {
      const rows = await db
        .selectFrom('secret_versions')
        .select(['version', 'size_bytes', 'created_at'])
        .where('secret_id', '=', secretId)
        .orderBy('version')
        .execute();
      return rows.map((r) => ({
        version: Number(r.version),
        sizeBytes: Number(r.size_bytes),
        createdAtMs: Number(r.created_at),
      }));
    },
    async addVersion(version) {
      await db.insertInto('secret_versions').values(versionRow(version)).execute();
    },
    async destroyVersionsUpTo(secretId, upTo) {
      if (upTo < 1) return 0;
      const result = await db
        .deleteFrom('secret_versions')
        .where('secret_id', '=', secretId)
        .where('version', '<=', upTo)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async update(item) {
      await db
        .updateTable('secrets')
        .set({
          latest_version: item.latestVersion,
          updated_at: item.updatedAtMs,
          deleted_at: item.deletedAtMs,
          purge_after: item.purgeAfterMs,
          approval: item.approval ? JSON.stringify(item.approval) : null,
        })
        .where('id', '=', item.id)
        .execute();
    },
    async destroy(secretId) {
      const result = await db
        .deleteFrom('secret_versions')
        .where('secret_id', '=', secretId)
        .executeTakeFirst();
      await db.deleteFrom('secrets').where('id', '=', secretId).execute();
      return Number(result.numDeletedRows);
    },
    async list(filter, limit) {
      let q = db
        .selectFrom('secrets')
        .selectAll()
        .where('name', '>=', filter.low)
        .where('name', '<', filter.high);
      if (filter.folder !== null) q = q.where('folder', '=', filter.folder);
      if (filter.afterName !== null) q = q.where('name', '>', filter.afterName);
      if (!filter.includeDeleted) q = q.where('deleted_at', 'is', null);
      const rows = await q.orderBy('name').limit(limit).execute();
      return rows.map(toItem);
    },
    async folders(low, high, includeDeleted, limit) {
      let q = db
        .selectFrom('secrets')
        .select('folder')
        .distinct()
        .where('folder', '>=', low)
        .where('folder', '<', high);
      if (!includeDeleted) q = q.where('deleted_at', 'is', null);
      const rows = await q.orderBy('folder').limit(limit).execute();
      return rows.map((r) => r.folder);
    },
    async dueForPurge(nowMs, limit) {
      const rows = await db
        .selectFrom('secrets')
        .selectAll()
        .where('deleted_at', 'is not', null)
        .where('purge_after', '<=', nowMs)
        .orderBy('purge_after')
        .limit(limit)
        .execute();
      return rows.map(toItem);
    },
    async wrappedBelow(kekVersion, limit, kind = 'secret') {
      const rows = await db
        .selectFrom(WRAPPED_TABLES[kind])
        .select(['id', 'wrapped_key', 'kek_version'])
        .where('kek_version', '<', kekVersion)
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: r.id, wrappedKey: r.wrapped_key, kekVersion: Number(r.kek_version) }));
    },
    async rewrap(secretId, fromKekVersion, wrappedKey, kekVersion, kind = 'secret') {
      const result = await db
        .updateTable(WRAPPED_TABLES[kind])
        .set({ wrapped_key: wrappedKey, kek_version: kekVersion })
        .where('id', '=', secretId)
        .where('kek_version', '=', fromKekVersion)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async countByKek() {
      const rows = await db
        .selectFrom('secrets')
        .select(['kek_version', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('kek_version')
        .execute();
      const counts = new Map(rows.map((r) => [Number(r.kek_version), Number(r.n)]));
      // Dynamic secrets' settings are wrapped by the same KEKs: a KEK they use is never destroyed.
      const dynamic = await db
        .selectFrom('dynamic_secrets')
        .select(['kek_version', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('kek_version')
        .execute();
      for (const r of dynamic)
        counts.set(Number(r.kek_version), (counts.get(Number(r.kek_version)) ?? 0) + Number(r.n));
      // So are rotated secrets' (ADR 0011).
      const rotated = await db
        .selectFrom('rotated_secrets')
        .select(['kek_version', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('kek_version')
        .execute();
      for (const r of rotated)
        counts.set(Number(r.kek_version), (counts.get(Number(r.kek_version)) ?? 0) + Number(r.n));
      return counts;
    },
  };
}

export function createSecretKeyRepo(target: QueryTarget): SecretKeyRepo {
  const { db } = target;
  return {
    async list() {
      const rows = await db.selectFrom('secret_keks').selectAll().orderBy('version').execute();
      return rows.map((r) => ({
        version: Number(r.version),
        sealed: r.sealed,
        createdAtMs: Number(r.created_at),
      }));
    },
    async latestVersion() {
      const row = await db
        .selectFrom('secret_keks')
        .select((eb) => eb.fn.max('version').as('v'))
        .executeTakeFirst();
      return row?.v === null || row?.v === undefined ? null : Number(row.v);
    },
    async insert(kek) {
      await db
        .insertInto('secret_keks')
        .values({ version: kek.version, sealed: kek.sealed, created_at: kek.createdAtMs })
        .execute();
    },
    async delete(version) {
      await db.deleteFrom('secret_keks').where('version', '=', version).execute();
    },
  };
}

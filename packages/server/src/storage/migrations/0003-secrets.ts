import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Static secrets (issue 3): items, their encrypted versions, and the key-encryption keys that wrap
 * their data keys. Values only ever reach the store as AES-256-GCM ciphertexts.
 *
 * Names are compared in byte order on both stores (PostgreSQL: `collate "C"`), so a folder listing
 * is one index range (`name >= '<folder>/' and name < '<folder>0'`) and cursors agree everywhere.
 */
export function secretsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const bytewise = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', bytewise, (c) => c.notNull().unique())
        .addColumn('folder', bytewise, (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('max_versions', 'integer', (c) => c.notNull())
        .addColumn('latest_version', 'integer', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .addColumn('purge_after', 'bigint')
        .execute();
      await db.schema.createIndex('secrets_folder_idx').on('secrets').columns(['folder', 'name']).execute();
      await db.schema.createIndex('secrets_kek_idx').on('secrets').columns(['kek_version']).execute();
      await db.schema.createIndex('secrets_purge_idx').on('secrets').columns(['purge_after']).execute();

      await db.schema
        .createTable('secret_versions')
        .addColumn('secret_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('secret_versions_pk', ['secret_id', 'version'])
        .execute();

      await db.schema
        .createTable('secret_keks')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      // Key material sealed under the root key that is not a KEK: after a root-key rotation, the
      // seed the audit keys are derived from (the original root key), so the ledger still verifies.
      await db.schema
        .createTable('root_sealed_keys')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

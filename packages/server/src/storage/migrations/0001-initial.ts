import { type Kysely, type Migration, sql } from 'kysely';

/** Builds the initial schema. `dialect` picks the one statement that differs (auto-increment). */
export function initialMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('identities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('environment', 'text')
        .addColumn('description', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('identities_kind_idx').on('identities').columns(['kind', 'id']).execute();
      await db.schema.createIndex('identities_owner_idx').on('identities').columns(['owner', 'id']).execute();

      await db.schema
        .createTable('identity_tags')
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_tags_pk', ['identity_id', 'tag'])
        .execute();
      await db.schema
        .createIndex('identity_tags_tag_idx')
        .on('identity_tags')
        .columns(['tag', 'identity_id'])
        .execute();

      await db.schema
        .createTable('auth_methods')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('is_admin', 'integer', (c) => c.notNull())
        .addColumn('bound_cidrs', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('uid_nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('method_id', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('depth', 'integer', (c) => c.notNull())
        .addColumn('ttl_seconds', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('deny_rotate', 'integer', (c) => c.notNull())
        .addColumn('deny_inheritance', 'integer', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_rotated_at', 'bigint')
        .addColumn('rotation_seq', 'integer', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_reason', 'text')
        .addColumn('flagged_at', 'bigint')
        .execute();
      // Subtrees are path ranges: one index serves "revoke all", "list tree" and "count".
      await db.schema
        .createIndex('uid_nodes_path_idx')
        .on('uid_nodes')
        .columns(['method_id', 'path'])
        .execute();
      await db.schema.createIndex('uid_nodes_parent_idx').on('uid_nodes').column('parent_id').execute();
      // Revocation rewrites many rows at once; free space in each page lets PostgreSQL update them
      // in place (HOT) instead of writing new index entries for every row.
      if (dialect === 'postgres') await sql`alter table uid_nodes set (fillfactor = 50)`.execute(db);

      await db.schema
        .createTable('uid_credentials')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('manual_ack', 'integer', (c) => c.notNull())
        .addColumn('grace_until', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('superseded_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('uid_credentials_node_idx')
        .on('uid_credentials')
        .columns(['node_id', 'state'])
        .execute();

      const revocations = db.schema.createTable('revocations');
      await (dialect === 'postgres'
        ? revocations.addColumn('seq', 'bigserial', (c) => c.primaryKey())
        : revocations.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
      )
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_key_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .addColumn('remove_after', 'bigint')
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('resource', 'text')
        .addColumn('reason', 'text')
        .addColumn('request_id', 'text')
        .addColumn('source_ip', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`insert into audit_head (id, seq, hash) values (1, 0, ${'0'.repeat(64)})`.execute(db);
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/**
 * Rotated secrets (issue 6, ADR 0011): one row per credential Tessera owns on a target. The settings
 * (with the target's admin credential) and the current password are one AES-256-GCM ciphertext under
 * the row's data key, wrapped by a secret KEK like a static secret's.
 */
export function rotatedSecretsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rotated_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('producer_type', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('usernames', 'text', (c) => c.notNull())
        .addColumn('current_index', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('interval_seconds', 'integer')
        .addColumn('grace_seconds', 'integer', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .addColumn('next_rotation_at', 'bigint')
        .addColumn('retire_index', 'integer')
        .addColumn('retire_at', 'bigint')
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('last_failure_at', 'bigint')
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('claimed_until', 'bigint')
        .addColumn('row_version', 'integer', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('kek_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The job's scan: rows with a rotation, a retry or a retirement due.
      await db.schema
        .createIndex('rotated_secrets_next_idx')
        .on('rotated_secrets')
        .column('next_rotation_at')
        .execute();
      await db.schema
        .createIndex('rotated_secrets_retry_idx')
        .on('rotated_secrets')
        .column('next_attempt_at')
        .execute();
      await db.schema
        .createIndex('rotated_secrets_retire_idx')
        .on('rotated_secrets')
        .column('retire_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('rotated_secrets').execute();
    },
  };
}

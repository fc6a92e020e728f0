import type { Kysely, Migration } from 'kysely';

/**
 * Leaked rotated passwords (issue 17, ADR 0036): the keyed hash of the current password and of the
 * previous one while its grace period runs (two-account), so `POST /v1/leaks` can find the secret a
 * reported `trp1…` password belongs to with an indexed look-up. Never the password itself.
 */
export function rotatedPasswordHashesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('rotated_secrets').addColumn('password_hash', 'varchar(100)').execute();
      await db.schema
        .alterTable('rotated_secrets')
        .addColumn('previous_password_hash', 'varchar(100)')
        .execute();
      await db.schema
        .createIndex('rotated_secrets_password_hash_idx')
        .on('rotated_secrets')
        .column('password_hash')
        .execute();
      await db.schema
        .createIndex('rotated_secrets_previous_hash_idx')
        .on('rotated_secrets')
        .column('previous_password_hash')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('rotated_secrets_previous_hash_idx').execute();
      await db.schema.dropIndex('rotated_secrets_password_hash_idx').execute();
      await db.schema.alterTable('rotated_secrets').dropColumn('previous_password_hash').execute();
      await db.schema.alterTable('rotated_secrets').dropColumn('password_hash').execute();
    },
  };
}

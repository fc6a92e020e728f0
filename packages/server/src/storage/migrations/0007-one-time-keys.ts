import type { Kysely, Migration } from 'kysely';

/**
 * One-time keys (issue 11, `OneTimeKeys.consume`): a key seen once is remembered until `expires_at`
 * (milliseconds). The primary key makes the first insert the only winner, on both dialects.
 */
export function oneTimeKeysMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('one_time_keys')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      // The pruning job's scan.
      await db.schema
        .createIndex('one_time_keys_expires_idx')
        .on('one_time_keys')
        .column('expires_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('one_time_keys').execute();
    },
  };
}

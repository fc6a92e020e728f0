import type { Kysely, Migration } from 'kysely';

/**
 * Issue 19 (scale): the identity list and the inventory filter by `state` and `environment` and page
 * in id order. Without an index on either column, a filter that few identities match (`state=retired`,
 * a rare environment) walked the primary key until it had a page: ~200 ms at 1,000,000 identities on
 * SQLite, growing with the table. (column, id) serves the filter and the keyset order together, as
 * identities_kind_idx and identities_owner_idx already do for kind and owner.
 */
export function identityFilterIndexesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('identities_state_idx').on('identities').columns(['state', 'id']).execute();
      await db.schema
        .createIndex('identities_environment_idx')
        .on('identities')
        .columns(['environment', 'id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('identities_environment_idx').execute();
      await db.schema.dropIndex('identities_state_idx').execute();
    },
  };
}

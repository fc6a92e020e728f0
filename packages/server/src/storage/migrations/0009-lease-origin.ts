import type { Kysely, Migration } from 'kysely';

/**
 * The credential a lease was obtained through (issue 10): its auth method, and the UID token node
 * (id and materialised path) when it came from one. Revoking that token (or its subtree) or
 * deleting the auth method revokes the lease, as Vault ties leases to tokens. Leases written before
 * this migration have none (null): they still end with their identity and their TTL.
 */
export function leaseOriginMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      await db.schema.alterTable('leases').addColumn('auth_method_id', 'text').execute();
      await db.schema.alterTable('leases').addColumn('uid_node_id', 'text').execute();
      await db.schema.alterTable('leases').addColumn('uid_node_path', 'text').execute();
      await db.schema.createIndex('leases_auth_method_idx').on('leases').column('auth_method_id').execute();
      await db.schema.createIndex('leases_uid_node_idx').on('leases').column('uid_node_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('leases_uid_node_idx').execute();
      await db.schema.dropIndex('leases_auth_method_idx').execute();
      await db.schema.alterTable('leases').dropColumn('uid_node_path').execute();
      await db.schema.alterTable('leases').dropColumn('uid_node_id').execute();
      await db.schema.alterTable('leases').dropColumn('auth_method_id').execute();
    },
  };
}

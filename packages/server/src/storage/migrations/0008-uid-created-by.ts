import type { Kysely, Migration } from 'kysely';

/**
 * Which credential created each UID node (issue 10: a child minted from a stolen token must be
 * traceable to it in the tree and the audit ledger). JSON, null for nodes created before.
 */
export function uidCreatedByMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('uid_nodes').addColumn('created_by', 'text').execute();
    },
  };
}

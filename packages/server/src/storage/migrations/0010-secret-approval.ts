import type { Kysely, Migration } from 'kysely';

/**
 * Secrets marked approval-required (issue 14, ADR 0027): the item's approval policy as JSON
 * (`{"group": …, "required": …}`, `{}` for the requester's owner), null when reads need no approval.
 * On the item row so the read path, which already loads it, pays nothing for unmarked items.
 */
export function secretApprovalMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('secrets').addColumn('approval', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('secrets').dropColumn('approval').execute();
    },
  };
}

import type { Kysely, Migration } from 'kysely';

/**
 * Archive anchors of the audit ledger: when the events up to `seq` are exported to an archive file
 * and pruned from the store, a signed anchor (like a checkpoint: seq, hash, time, key id, signature)
 * records where the stored chain resumes, so verification starts from it instead of genesis.
 */
export function auditAnchorsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_anchors')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('from_seq', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('kid', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Issue 19 (scale): revoking a 100,000-node subtree is one UPDATE of `revoked_at` over a path range
 * (uid.repo revokeSubtree). On PostgreSQL it only stays under 1 s in a large table when every new row
 * version fits on its own page (a HOT update: no new entry in any index). Pages filled to 100% leave
 * no room, so each of the 100,000 versions went to a new page and into every index: 2.3–3.8 s at
 * 1,000,000 nodes (bench/scale.mjs --store postgres://…), against 0.15–0.27 s for the UPDATE in psql on a
 * freshly built table with half of each page kept free and `revoked_at` in no index (governance
 * migration 0007), and 0.42–0.75 s for the UPDATE in the loaded HTTP runs (448 ms for the whole call). The price is a heap about twice
 * the size. Applies to pages written from now on; an existing large table gets it when rewritten
 * (`VACUUM FULL uid_nodes`, an operator's choice). SQLite has no fill factor: nothing to do there.
 */
export function uidNodesFillfactorMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') await sql`alter table uid_nodes set (fillfactor = 50)`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      if (dialect === 'postgres') await sql`alter table uid_nodes reset (fillfactor)`.execute(db);
    },
  };
}

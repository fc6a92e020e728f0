import { type CompiledQuery, Kysely, type LogEvent, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Store } from '../src/storage/database.js';
import type { Database } from '../src/storage/schema.js';
import { SQLite } from '../src/storage/sqlite-driver.js';
import { freshPostgresDatabase } from './harness.js';

/**
 * A store for query-plan tests (not migrated): every query Kysely sends is kept in `queries`; on
 * SQLite (in memory) `explain` gives the plan of a compiled query, on PostgreSQL (a fresh database,
 * `drop` removes it) `explain` is null and the tests check the SQL sent.
 */
export async function openPlanStore(kind: 'sqlite' | 'postgres'): Promise<{
  store: Store;
  queries: CompiledQuery[];
  explain: ((q: CompiledQuery) => Promise<string[]>) | null;
  drop: (() => Promise<void>) | null;
}> {
  const queries: CompiledQuery[] = [];
  const log = (e: LogEvent) => {
    if (e.level === 'query') queries.push(e.query);
  };
  if (kind === 'sqlite') {
    const database = new SQLite(':memory:');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }), log });
    const explain = async (q: CompiledQuery) =>
      (
        database.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as {
          detail: string;
        }[]
      ).map((r) => r.detail);
    return {
      store: { db, dialect: 'sqlite', direct: null, pgConfig: null, close: () => db.destroy() },
      queries,
      explain,
      drop: null,
    };
  }
  const fresh = await freshPostgresDatabase();
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: fresh.url, max: 2 }) }),
    log,
  });
  return {
    store: { db, dialect: 'postgres', direct: null, pgConfig: null, close: () => db.destroy() },
    queries,
    explain: null,
    drop: fresh.drop,
  };
}

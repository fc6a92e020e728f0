import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect, DirectSqlite } from './database.js';
import type { Database } from './schema.js';

const MARKER = '\u0000tessera-arg-';

interface Template {
  sql: string;
  /** A parameter is either argument `n` of the call, or a constant from the builder. */
  slots: Array<number | { value: unknown }>;
}

/**
 * A hot-path query built and compiled once per dialect, then executed with new arguments: Kysely
 * otherwise rebuilds and recompiles its operation tree on every call, which costs more than a
 * SQLite point read. The builder receives marker values in place of the arguments; every argument
 * must be used as a bound value (never as an identifier).
 */
/** A query builder or a raw `sql` template (whose `compile` needs the executor provider). */
interface Buildable<R> {
  compile(provider: Kysely<Database>): CompiledQuery<R>;
}

/**
 * Where a repository's queries go: Kysely, or, inside the unit of work's SQLite transaction, the
 * connection itself (same connection, same transaction, without the per-query promise chain).
 */
export interface QueryTarget {
  db: Kysely<Database>;
  dialect: Dialect;
  direct: DirectSqlite | null;
  /**
   * Outside a transaction (reads), SQLite only: the same connection, used directly when no
   * transaction is open on it and the unit of work does not hold it (else the read waits for it,
   * as for Kysely's lock), so a read never sees rows whose commit is not yet on disk.
   */
  reader?: DirectSqlite | null;
}

export function prepared<A extends unknown[], R>(build: (db: Kysely<Database>, ...args: A) => Buildable<R>) {
  const templates = new Map<Dialect, Template>();
  return async ({ db, dialect, direct, reader }: QueryTarget, ...args: A): Promise<R[]> => {
    let template = templates.get(dialect);
    if (!template) {
      const markers = args.map((_, i) => `${MARKER}${i}`) as A;
      const compiled = build(db, ...markers).compile(db);
      template = {
        sql: compiled.sql,
        slots: compiled.parameters.map((p) =>
          typeof p === 'string' && p.startsWith(MARKER) ? Number(p.slice(MARKER.length)) : { value: p },
        ),
      };
      templates.set(dialect, template);
    }
    const parameters = template.slots.map((slot) => (typeof slot === 'number' ? args[slot] : slot.value));
    if (direct) return direct.execute(template.sql, parameters) as R[];
    if (reader) {
      for (let busy = reader.busy(); busy; busy = reader.busy()) await busy;
      if (!reader.inTransaction()) return reader.execute(template.sql, parameters) as R[];
    }
    return (await db.executeQuery<R>(CompiledQuery.raw(template.sql, parameters))).rows;
  };
}

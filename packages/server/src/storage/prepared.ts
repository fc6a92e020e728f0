import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect } from './database.js';
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

export function prepared<A extends unknown[], R>(build: (db: Kysely<Database>, ...args: A) => Buildable<R>) {
  const templates = new Map<Dialect, Template>();
  return async (db: Kysely<Database>, dialect: Dialect, ...args: A): Promise<R[]> => {
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
    return (await db.executeQuery<R>(CompiledQuery.raw(template.sql, parameters))).rows;
  };
}

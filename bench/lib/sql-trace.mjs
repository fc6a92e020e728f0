// Times the SQL statements the server runs in THIS process, by wrapping better-sqlite3's statement
// methods and pg's Client#query (bench-only instrumentation; the server code is untouched).
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function installSqlTrace(serverDist) {
  const require = createRequire(join(serverDist, 'index.js'));
  let events = null;
  const record = (sql, t0) => {
    if (events)
      events.push({
        sql: String(sql).replace(/\s+/g, ' ').trim(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      });
  };
  const SQLite = require('better-sqlite3');
  const probe = new SQLite(':memory:');
  const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = Statement[method];
    Statement[method] = function (...params) {
      const t0 = process.hrtime.bigint();
      try {
        return original.apply(this, params);
      } finally {
        record(this.source, t0);
      }
    };
  }
  const pg = require('pg');
  const originalQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    const t0 = process.hrtime.bigint();
    const result = originalQuery.call(this, config, ...rest);
    const text = typeof config === 'string' ? config : config?.text;
    if (result && typeof result.then === 'function')
      result.then(
        () => record(text, t0),
        () => record(text, t0),
      );
    else record(text, t0);
    return result;
  };
  return {
    start() {
      events = [];
    },
    stop() {
      const out = events ?? [];
      events = null;
      return out;
    },
  };
}

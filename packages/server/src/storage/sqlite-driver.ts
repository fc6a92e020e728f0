import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build for this Node.js. Versions below 13 abort on Node 24.19+ (Node's
 * ObjectWrap now removes a cleanup hook in its destructor, and an idle GC finalises statements with
 * no context entered); version 13 ships prebuilt binaries for Node 22+ only. So Node 20 loads 12.x
 * and newer lines load 13.x (installed under the alias `better-sqlite3-13`). Same API, same files.
 *
 * 13.x is an optional dependency (its `engines` is Node >= 22), so `npm install` skips it on Node 20
 * without an engine warning. Where it could not be installed, 12.x is used.
 */
const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

function loadDriver(): typeof BetterSqlite3 {
  if (major >= 22) {
    try {
      return require('better-sqlite3-13');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return require('better-sqlite3');
}

export const SQLite: typeof BetterSqlite3 = loadDriver();
export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;

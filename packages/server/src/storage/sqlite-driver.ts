import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build for this Node.js. Versions below 13 abort on Node 24.19+ (Node's
 * ObjectWrap now removes a cleanup hook in its destructor, and an idle GC finalises statements with
 * no context entered); version 13 ships prebuilt binaries for Node 22+ only. So Node 20 loads 12.x
 * and newer lines load 13.x (installed under the alias `better-sqlite3-13`). Same API, same files.
 */
const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

export const SQLite: typeof BetterSqlite3 =
  major >= 22 ? require('better-sqlite3-13') : require('better-sqlite3');
export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;

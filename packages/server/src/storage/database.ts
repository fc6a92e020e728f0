import { chmodSync, close, closeSync, fstat, fsync, open, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
} from 'kysely';
import pg from 'pg';
import { initialMigration } from './migrations/0001-initial.js';
import { auditAnchorsMigration } from './migrations/0002-audit-anchors.js';
import { secretsMigration } from './migrations/0003-secrets.js';
import { rolesMigration } from './migrations/0004-roles.js';
import { dynamicSecretsMigration } from './migrations/0005-dynamic-secrets.js';
import { rotatedSecretsMigration } from './migrations/0006-rotated-secrets.js';
import { oneTimeKeysMigration } from './migrations/0007-one-time-keys.js';
import { uidCreatedByMigration } from './migrations/0008-uid-created-by.js';
import { leaseOriginMigration } from './migrations/0009-lease-origin.js';
import { secretApprovalMigration } from './migrations/0010-secret-approval.js';
import { rotatedPasswordHashesMigration } from './migrations/0011-rotated-password-hashes.js';
import { identityFilterIndexesMigration } from './migrations/0012-identity-filter-indexes.js';
import { uidNodesFillfactorMigration } from './migrations/0013-uid-nodes-fillfactor.js';
import type { Database } from './schema.js';
import { SQLite, type SqliteDatabase, type SqliteStatement } from './sqlite-driver.js';

export type Dialect = 'sqlite' | 'postgres';

/** Synchronous execution on the SQLite connection, for statements inside the unit of work's transaction. */
export interface DirectSqlite {
  execute(sql: string, parameters: readonly unknown[]): unknown[];
  /** Whether a transaction is open on the connection. */
  inTransaction(): boolean;
  /**
   * File databases only (null for `:memory:`): fsyncs the write-ahead log on libuv's thread pool,
   * so the unit of work can commit with `synchronous = NORMAL` (no fsync on the event loop) and
   * still acknowledge nothing before it is on disk (ADR 0031).
   */
  walSync: (() => Promise<void>) | null;
  /**
   * The unit of work holds the connection from the start of a write transaction until its WAL
   * fsync is done: returns the release. While held, `busy()` is a promise settled on release, so a
   * read outside the transaction waits as it would for Kysely's connection lock; else null.
   */
  hold(): () => void;
  busy(): Promise<void> | null;
  /**
   * Runs `fn` with `synchronous = NORMAL` on the connection and puts `FULL` back when it returns
   * (or, for a promise, settles): a commit inside `fn` is written to the WAL but not fsynced. The one
   * place the pragma is toggled (ADR 0031, ADR 0051); the unit of work is its only caller.
   */
  unsynced<T>(fn: () => T): T;
}

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite only: the connection's statements, run without Kysely's per-query machinery. */
  direct: DirectSqlite | null;
  /** For PostgreSQL: a dedicated listener connection factory (LISTEN/NOTIFY). */
  pgConfig: pg.PoolConfig | null;
  /** SQLite on a file: its path (a second, read-only connection can read it under WAL). */
  sqliteFile?: string | null;
  close(): Promise<void>;
}

/**
 * Kysely prepares every query afresh; preparing costs more than running a point query, so reuse
 * prepared statements by SQL text. The set of distinct statements is small and fixed by the code
 * (values are always bound parameters), so the cache is bounded in practice; a cap guards anyway.
 */
/** What `rollback` runs when there is no transaction left to roll back. */
const NO_OP_STATEMENT = {
  reader: false,
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
} as unknown as SqliteStatement;

const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsync = promisify(close);
const fstatAsync = promisify(fstat);

/**
 * How often the WAL descriptor is checked for having been unlinked. SQLite removes the WAL only
 * when the last connection closes (ours is open for the store's whole life), so the check guards
 * against something outside SQLite; per commit it cost a thread-pool round trip of its own, about
 * 6% of the server's busy time in `/v1/auth` on a machine with costly syscalls.
 */
const WAL_LINK_CHECK_MS = 1_000;

/**
 * `fsync` of `<file>-wal` off the event loop: what `synchronous = FULL` does at the end of every
 * commit, done by a thread-pool thread instead. The descriptor is opened on first use (the WAL
 * exists once the connection is in WAL mode and has written) and reopened if the file it names was
 * unlinked (checked at most every WAL_LINK_CHECK_MS); the directory is fsynced whenever a
 * descriptor is (re)opened, as SQLite does for a file it created, so the WAL's directory entry is
 * durable too. Callers never overlap (the unit of work holds the connection until the sync is done).
 */
function walSyncer(file: string) {
  const walPath = `${file}-wal`;
  let fd: number | null = null;
  let checkedAtMs = 0;
  return {
    async sync() {
      const now = performance.now();
      if (fd !== null && now - checkedAtMs >= WAL_LINK_CHECK_MS) {
        checkedAtMs = now;
        if ((await fstatAsync(fd)).nlink === 0) {
          await closeAsync(fd).catch(() => {});
          fd = null;
        }
      }
      if (fd === null) {
        const opened = await openAsync(walPath, 'r');
        const dir = await openAsync(dirname(walPath), 'r');
        try {
          await fsyncAsync(dir);
        } finally {
          await closeAsync(dir);
        }
        fd = opened;
        checkedAtMs = performance.now();
      }
      await fsyncAsync(fd);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

function withStatementCache(database: SqliteDatabase, walSync: (() => Promise<void>) | null) {
  const cache = new Map<string, SqliteStatement>();
  // Separate statements for direct execution: raw mode is a statement's state, and Kysely's reads
  // of the same SQL expect objects.
  const direct = new Map<string, { statement: SqliteStatement; columns: string[] }>();
  let held: Promise<void> | null = null;
  const self = {
    close: () => database.close(),
    inTransaction: () => database.inTransaction,
    walSync,
    hold() {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      held = promise;
      return () => {
        if (held === promise) held = null;
        release();
      };
    },
    busy: () => held,
    unsynced<T>(fn: () => T): T {
      // Run as cached statements (`database.pragma` prepares anew on every call).
      const full = () => self.execute('pragma synchronous = FULL', []);
      self.execute('pragma synchronous = NORMAL', []);
      let result: T;
      try {
        result = fn();
      } catch (error) {
        full();
        throw error;
      }
      if (result instanceof Promise) return result.finally(full) as T;
      full();
      return result;
    },
    /**
     * A statement that returns no rows is run; one that does is read in full. Rows are read as
     * arrays and shaped into objects here: better-sqlite3 builds objects property by property
     * through the V8 API, which costs more than the read itself for wide rows.
     */
    execute(sql: string, parameters: readonly unknown[]): unknown[] {
      let entry = direct.get(sql);
      if (!entry) {
        const statement = database.prepare(sql);
        const columns = statement.reader ? statement.columns().map((c) => c.name) : [];
        if (statement.reader) statement.raw(true);
        if (direct.size >= 2000) direct.clear();
        entry = { statement, columns };
        direct.set(sql, entry);
      }
      const { statement, columns } = entry;
      if (!statement.reader) {
        statement.run(...parameters);
        return [];
      }
      const rows = statement.all(...parameters) as unknown[][];
      return rows.map((row) => {
        const object: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i];
        return object;
      });
    },
    prepare(sql: string) {
      // SQLite rolls a transaction back by itself when a write or the commit fails for lack of
      // space or an I/O error; Kysely's rollback would then fail and hide that cause (issue 19).
      if (sql === 'rollback' && !database.inTransaction) return NO_OP_STATEMENT;
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= 2000) cache.clear();
        statement = database.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
  return self;
}

/**
 * The database and its companions are readable by their owner only (issue 10): the file is created
 * 0600 before SQLite opens it — SQLite gives `-wal` and `-shm` the database file's mode — and files
 * left by an earlier version with the umask's mode are narrowed.
 */
function ownerOnlyFiles(file: string) {
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    } catch {} // absent
  }
}

/** Opens the store named by a URL: `sqlite:<path>` (or `sqlite::memory:`) or `postgres://…`. */
export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file && file !== ':memory:' && !file.startsWith('file:')) ownerOnlyFiles(file);
    const database = new SQLite(file || ':memory:');
    database.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before it returns; group commit makes that affordable.
    database.pragma('synchronous = FULL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    const sqliteFile = file && file !== ':memory:' && !file.startsWith('file:') ? file : null;
    const syncer = sqliteFile ? walSyncer(sqliteFile) : null;
    const cached = withStatementCache(database, syncer ? () => syncer.sync() : null);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
    const close = async () => {
      await db.destroy();
      syncer?.close();
    };
    return { db, dialect: 'sqlite', direct: cached, pgConfig: null, sqliteFile, close };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pgConfig: pg.PoolConfig = {
      connectionString: url,
      max: 10,
      // BIGINT columns hold millisecond timestamps, well within Number's exact range.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    };
    const pool = new pg.Pool({
      ...pgConfig,
      // A store that does not answer fails the request (a retryable 503) instead of hanging it.
      connectionTimeoutMillis: 5_000,
    });
    // An idle connection dropped by the server (PostgreSQL restarting: 57P01) is an 'error' event
    // on the pool; unhandled, it would end the process. The pool discards that client and opens a
    // new one on the next query; queries in flight see their own error (a 503, issue 19).
    pool.on('error', () => {});
    // The same for a client checked out between two statements (a transaction, the group commit).
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', direct: null, pgConfig, close: () => db.destroy() };
  }
  throw new Error('store URL must start with sqlite: or postgres://');
}

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(dialect),
    '0002-audit-anchors': auditAnchorsMigration(),
    '0003-secrets': secretsMigration(dialect),
    '0004-roles': rolesMigration(),
    '0005-dynamic-secrets': dynamicSecretsMigration(dialect),
    '0006-rotated-secrets': rotatedSecretsMigration(),
    '0007-one-time-keys': oneTimeKeysMigration(),
    '0008-uid-created-by': uidCreatedByMigration(),
    '0009-lease-origin': leaseOriginMigration(),
    '0010-secret-approval': secretApprovalMigration(),
    '0011-rotated-password-hashes': rotatedPasswordHashesMigration(),
    '0012-identity-filter-indexes': identityFilterIndexesMigration(),
    '0013-uid-nodes-fillfactor': uidNodesFillfactorMigration(dialect),
  };
}

/** Applies pending migrations; safe to run on every start and from several servers at once. */
export async function migrate(store: Store): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(store.dialect) };
  const migrator = new Migrator({
    db: store.db,
    provider,
    migrationTableName: 'tessera_migrations',
    migrationLockTableName: 'tessera_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(
      `migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

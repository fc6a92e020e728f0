import { type Kysely, sql } from 'kysely';
import { TesseraError, unavailable } from '../core/shared/errors.js';
import type { Repos, UnitOfWork } from '../core/shared/unit-of-work.js';
import type { DirectSqlite, Store } from './database.js';
import type { Database } from './schema.js';

export type RepoFactory = (db: Kysely<Database>, afterCommit: (fn: () => void) => void) => Repos;

interface Job {
  work: (repos: Repos) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  afterCommit: Array<() => void>;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

const MAX_BATCH = 512;

/**
 * Group commit (DESIGN §3): the writes queued in one tick share one transaction and one fsync.
 * Each unit runs under its own savepoint, so a unit that fails rolls back alone; no unit's promise
 * settles before the shared commit. If the commit itself fails, every unit in it fails with
 * `TESSERA_UNAVAILABLE`: Tessera fails closed rather than answer for what is not on disk.
 */
/** In-memory state that must follow the transaction (e.g. the audit chain head). */
export interface TransactionalMemory {
  snapshot(): unknown;
  restore(snapshot: unknown): void;
  /** The transaction failed: forget everything and reload from the store. */
  reset(): void;
}

/**
 * A write too small and too frequent to wait for an fsync (ADR 0051): `work` runs synchronously,
 * as its own transaction, on the SQLite connection; it must not append audit events (the chain
 * head follows the group commit's transactions only) and must not await. Never await `writeNow`
 * from inside a unit of `write`: it waits for the batch's transaction to end, which waits for the
 * unit (a deadlock); call it outside any write, as the gateway does.
 */
export type WriteNow = <T>(work: (direct: DirectSqlite) => T) => Promise<T>;

export interface GroupCommitUnitOfWork extends UnitOfWork {
  /** Waits until every queued write has settled (graceful shutdown). */
  drain(): Promise<void>;
  /**
   * SQLite only (null on PostgreSQL, whose writes all go through `write`): `work` as its own short
   * transaction, committed with `synchronous = NORMAL`: in the WAL, visible to every later read,
   * durable with the next group commit's WAL fsync, which covers every earlier frame. Refused by
   * the same gate as `write` (fail closed); waits while a batch's transaction is open, but not for
   * the batch's WAL fsync (ADR 0049 holds the connection through it), then runs without yielding,
   * so nothing interleaves with it. If another transaction is open on the connection, `work` runs
   * as a unit of the next batch instead (durable, slower).
   */
  writeNow: WriteNow | null;
}

export function createGroupCommitUnitOfWork(
  store: Store,
  makeRepos: RepoFactory,
  options: {
    onCommitFailure?: (error: unknown) => void;
    memory?: TransactionalMemory;
    /** Runs first in every write transaction (e.g. taking the lock that orders writers). */
    begin?: (trx: Kysely<Database>) => Promise<void>;
    /** Told how long each flush took and how it ended, before any of its units settles. */
    onFlush?: (durationSeconds: number, outcome: 'committed' | 'rolled_back' | 'failed') => void;
    /** Consulted before a write is queued: an error refuses it (fail closed, e.g. no audit sink can write). */
    gate?: () => TesseraError | null;
  } = {},
): GroupCommitUnitOfWork {
  const onCommitFailure = options.onCommitFailure ?? (() => {});
  const memory = options.memory;
  const direct = store.direct;
  let queue: Job[] = [];
  let scheduled = false;
  let running: Promise<void> | null = null;

  function schedule() {
    if (scheduled || running) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      running = flush().finally(() => {
        running = null;
        if (queue.length > 0) schedule();
      });
    });
  }

  const statement = async (
    trx: Kysely<Database>,
    text: 'savepoint unit' | 'release savepoint unit' | 'rollback to savepoint unit',
  ) => {
    if (store.direct) store.direct.execute(text, []);
    else await sql.raw(text).execute(trx);
  };

  async function runJob(trx: Kysely<Database>, repos: Repos, job: Job, savepoint: boolean) {
    job.afterCommit = [];
    job.outcome = undefined;
    if (!savepoint) {
      // Optimistic: no savepoint pair; if the unit throws, the whole batch is re-run (see flush).
      job.outcome = { ok: true, value: await job.work(repos) };
      return;
    }
    const before = memory?.snapshot();
    await statement(trx, 'savepoint unit');
    try {
      const value = await job.work(repos);
      await statement(trx, 'release savepoint unit');
      job.outcome = { ok: true, value };
    } catch (error) {
      try {
        await statement(trx, 'rollback to savepoint unit');
        await statement(trx, 'release savepoint unit');
      } catch {
        // The transaction itself is gone (SQLite rolls it back on SQLITE_FULL or an I/O error): the
        // batch fails with the unit's own error, so the caller learns the cause (a full disk: 507).
        throw error;
      }
      memory?.restore(before);
      job.afterCommit = [];
      job.outcome = { ok: false, error };
    }
  }

  async function flush() {
    const batch = queue.length > MAX_BATCH ? queue.splice(0, MAX_BATCH) : queue;
    if (batch === queue) queue = [];
    const single = batch.length === 1;
    const startedMs = performance.now();
    const flushed = (outcome: 'committed' | 'rolled_back' | 'failed') =>
      options.onFlush?.((performance.now() - startedMs) / 1000, outcome);
    // Units of a batch first run without savepoints (two statements fewer per unit). If one throws,
    // the transaction rolls back and the batch runs again with a savepoint per unit, so the failing
    // unit rolls back alone: units only touch the transaction and collect afterCommit callbacks, so
    // running them again is safe. The repositories are bound once per transaction; `current` routes
    // afterCommit to the unit that is running (units run one after another).
    let current: Job | null = null;
    let unitThrew = false;
    const savepointsFirst = !single && !store.direct;
    // If SQLite already rolled the transaction back (SQLITE_FULL, an I/O error), Kysely's rollback
    // fails too and would hide the cause: the error thrown inside the transaction wins.
    const attempt = async (savepoints: boolean) => {
      let inner: unknown;
      const inside = async (trx: Kysely<Database>) => {
        try {
          await body(trx, savepoints);
        } catch (error) {
          inner = error;
          throw error;
        }
      };
      try {
        if (direct?.walSync) {
          // SQLite on a file (ADR 0031): the commit writes the WAL without fsync on the event loop,
          // then the WAL is fsynced on the thread pool while this batch still holds the connection,
          // so no read and no other batch sees these rows before they are on disk, and no unit
          // settles before. The event loop serves other requests meanwhile.
          const walSync = direct.walSync;
          await store.db.connection().execute(async (conn) => {
            await direct.unsynced(() => conn.transaction().execute(inside));
            await walSync();
          });
        } else {
          await store.db.transaction().execute(inside);
        }
      } catch (error) {
        throw inner ?? error;
      }
    };
    const body = async (trx: Kysely<Database>, savepoints: boolean) => {
      await options.begin?.(trx);
      const repos = makeRepos(trx, (fn) => current!.afterCommit.push(fn));
      for (const job of batch) {
        current = job;
        try {
          await runJob(trx, repos, job, savepoints);
        } catch (error) {
          unitThrew = true;
          throw error;
        }
        // Without a savepoint to release, check the transaction is still there: a unit that lost
        // it must not let the next ones autocommit.
        if (!savepoints && store.direct && !store.direct.inTransaction())
          throw unavailable('transaction_lost');
      }
    };
    // Direct reads wait while this batch holds the connection (its commit is not durable before
    // the WAL fsync).
    const release = direct?.hold();
    try {
      try {
        // Optimistic on SQLite only: there a lost transaction is seen without a round trip.
        await attempt(savepointsFirst);
      } catch (error) {
        if (single || !unitThrew || savepointsFirst) throw error;
        memory?.reset();
        unitThrew = false;
        await attempt(true);
      }
    } catch (error) {
      release?.();
      memory?.reset();
      if (single && batch[0]!.outcome === undefined) {
        // The only unit failed and its transaction rolled back: report its own error.
        flushed('rolled_back');
        batch[0]!.reject(error);
        return;
      }
      onCommitFailure(error);
      flushed('failed');
      const failure = error instanceof TesseraError ? error : unavailable('commit_failed', error);
      for (const job of batch) job.reject(failure);
      return;
    }
    release?.();
    flushed('committed');
    for (const job of batch) {
      const outcome = job.outcome!;
      if (outcome.ok) {
        for (const fn of job.afterCommit) fn();
        job.resolve(outcome.value);
      } else {
        job.reject(outcome.error);
      }
    }
  }

  function write<T>(work: (repos: Repos) => Promise<T>): Promise<T> {
    const refused = options.gate?.();
    if (refused) return Promise.reject(refused);
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (v: unknown) => void, reject, afterCommit: [] });
      schedule();
    });
  }

  async function writeNow<T>(work: (direct: DirectSqlite) => T): Promise<T> {
    const refused = options.gate?.();
    if (refused) throw refused;
    const d = direct!;
    // A batch holds the connection from its `begin` until its WAL fsync is done. While its
    // transaction is open, wait (this commit must not land inside it). Once the batch has committed
    // and only its fsync is running on the thread pool, run at once: this write is unsynced by
    // design, the next fsync covers its frames and the batch's alike, and waiting would add a disk
    // flush to every gateway call (ADR 0051). It may read the batch's rows before they are on disk;
    // nothing it returns is an acknowledgement of them. Between the last check and the `commit`
    // below nothing yields.
    for (let busy = d.busy(); busy && d.inTransaction(); busy = d.busy()) await busy;
    if (d.inTransaction()) return write(async () => work(d));
    return d.unsynced(() => {
      d.execute('begin immediate', []);
      try {
        const value = work(d);
        d.execute('commit', []);
        return value;
      } catch (error) {
        // SQLite may have rolled back already (SQLITE_FULL, an I/O error): then this is a no-op.
        if (d.inTransaction()) d.execute('rollback', []);
        throw error;
      }
    });
  }

  return {
    write,
    writeNow: direct ? writeNow : null,
    read<T>(work: (repos: Repos) => Promise<T>): Promise<T> {
      return work(makeRepos(store.db, (fn) => fn()));
    },
    async drain() {
      while (running || scheduled || queue.length > 0) {
        if (running) await running;
        else await new Promise((r) => setImmediate(r));
      }
    },
  };
}

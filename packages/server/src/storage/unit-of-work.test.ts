import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from '../core/identities/identities.model.js';
import { systemContext } from '../core/shared/context.js';
import { TesseraError } from '../core/shared/errors.js';
import type { Repos } from '../core/shared/unit-of-work.js';
import { ChainHasher } from '../crypto/audit-ledger.js';
import { migrate, openStore, type Store } from './database.js';
import { ChainHead, repoFactory } from './repos/index.js';
import type { Database } from './schema.js';
import { SQLite, type SqliteDatabase } from './sqlite-driver.js';
import { createGroupCommitUnitOfWork } from './unit-of-work.js';

const identity = (id: string): Identity => ({
  id,
  name: `/uow/${id}`,
  kind: 'service',
  owner: 'tests',
  environment: null,
  description: null,
  tags: ['uow'],
  state: 'active',
  createdAtMs: 1,
  updatedAtMs: 1,
  retiredAtMs: null,
  lastUsedAtMs: null,
});

/** One unit of work: an identity and its audit event, as the services write them. */
async function createIdentity(r: Repos, id: string) {
  await r.identities.insert(identity(id));
  await r.audit.append(
    { type: 'identity.created', outcome: 'success', actor: {}, data: { identityId: id } },
    systemContext(`req-${id}`),
    1,
  );
  return id;
}

describe('group-commit unit of work on a real SQLite file', () => {
  let dir: string;
  let store: Store;
  let reader: SqliteDatabase;
  let commitFailures: unknown[];
  let uow: ReturnType<typeof createGroupCommitUnitOfWork>;

  /** Reads through a second, independent connection: only what is committed is visible. */
  const committedIdentity = (id: string) => reader.prepare('select id from identities where id = ?').get(id);
  const committedCount = () =>
    (reader.prepare("select count(*) as n from identities where name like '/uow/%'").get() as { n: number })
      .n;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-uow-'));
    const file = join(dir, 'tessera.db');
    store = openStore(`sqlite:${file}`);
    await migrate(store);
    commitFailures = [];
    // Wired as the server wires it: the SQLite audit head lives in memory and follows the transaction.
    const chain = new ChainHead();
    const repos = repoFactory('sqlite', {
      chain,
      direct: null,
      methodCache: null,
      hasher: new ChainHasher({ id: 'test', material: Buffer.alloc(32, 7) }),
    });
    // The repositories, plus the transaction they are bound to (for the commit-failure test only).
    const withTransaction = (db: Kysely<Database>, afterCommit: (fn: () => void) => void) =>
      Object.assign(repos(db, afterCommit), { transaction: db });
    uow = createGroupCommitUnitOfWork(store, withTransaction, {
      onCommitFailure: (e) => commitFailures.push(e),
      memory: {
        snapshot: () => chain.current,
        restore: (snapshot) => {
          chain.current = snapshot as ChainHead['current'];
        },
        reset: () => {
          chain.current = null;
        },
      },
    });
    reader = new SQLite(file, { readonly: true, fileMustExist: true });
  });

  afterEach(async () => {
    reader.close();
    await uow.drain();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves no write before its data is readable from another connection (200 concurrent writes)', async () => {
    const notYetVisible: string[] = [];
    const writes = Array.from({ length: 200 }, (_, i) => {
      const id = `i-${String(i).padStart(3, '0')}`;
      return uow
        .write((r) => createIdentity(r, id))
        .then((value) => {
          // Synchronously, at the moment the promise settles: the row must already be committed.
          if (!committedIdentity(id)) notYetVisible.push(id);
          return value;
        });
    });
    const ids = await Promise.all(writes);
    expect(notYetVisible).toEqual([]);
    expect(ids).toHaveLength(200);
    expect(committedCount()).toBe(200);
    expect(commitFailures).toEqual([]);
  });

  it('rolls back a failing unit alone; its batch-mates commit', async () => {
    const boom = new Error('unit 77 fails after writing');
    const settled = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => {
        const id = `i-${String(i).padStart(3, '0')}`;
        return uow.write(async (r) => {
          await createIdentity(r, id);
          if (i === 77) throw boom;
          return id;
        });
      }),
    );
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [[i, s.reason]] : []));
    expect(failed).toEqual([[77, boom]]); // its own error, not a commit failure
    expect(committedIdentity('i-077')).toBeUndefined();
    expect(committedCount()).toBe(199);
    expect(commitFailures).toEqual([]);

    // The failed unit's audit append was rolled back too: the chain has no gap and links throughout.
    const events = reader
      .prepare('select seq, prev_hash, hash, data from audit_events order by seq')
      .all() as Array<{
      seq: number;
      prev_hash: string;
      hash: string;
      data: string;
    }>;
    expect(events).toHaveLength(199);
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 199 }, (_, i) => i + 1));
    expect(events.some((e) => JSON.parse(e.data).identityId === 'i-077')).toBe(false);
    let prev = '0'.repeat(64);
    for (const e of events) {
      expect(e.prev_hash).toBe(prev);
      prev = e.hash;
    }
    // The next event chains onto the last committed one (the in-memory head was restored, not left
    // pointing at the rolled-back event).
    await uow.write((r) => createIdentity(r, 'i-next'));
    const next = reader
      .prepare('select seq, prev_hash from audit_events order by seq desc limit 1')
      .get() as {
      seq: number;
      prev_hash: string;
    };
    expect(Number(next.seq)).toBe(200);
    expect(next.prev_hash).toBe(prev);
  });

  it('reports a lone failing unit with its own error and writes nothing', async () => {
    const own = new TesseraError('TESSERA_CONFLICT', 'already exists');
    await expect(
      uow.write(async (r) => {
        await createIdentity(r, 'i-lone');
        throw own;
      }),
    ).rejects.toBe(own);
    expect(committedIdentity('i-lone')).toBeUndefined();
    expect(commitFailures).toEqual([]);
    // And the next write is unaffected.
    await uow.write((r) => createIdentity(r, 'i-after'));
    expect(committedIdentity('i-after')).toBeDefined();
  });

  it('runs afterCommit effects after the commit and before the promise settles, never for a rolled-back unit', async () => {
    const effects: string[] = [];
    const visibleAtEffect: Record<string, boolean> = {};
    const unit = (id: string, fail: boolean) =>
      uow.write(async (r) => {
        await createIdentity(r, id);
        r.afterCommit(() => {
          effects.push(id);
          visibleAtEffect[id] = committedIdentity(id) !== undefined;
        });
        if (fail) throw new Error(`${id} fails`);
        return id;
      });
    const order: string[] = [];
    const results = await Promise.allSettled([
      unit('i-a', false).then((id) => order.push(`resolved ${id}, effects so far: ${effects.join('+')}`)),
      unit('i-b', true),
      unit('i-c', false),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(effects.sort()).toEqual(['i-a', 'i-c']);
    expect(visibleAtEffect).toEqual({ 'i-a': true, 'i-c': true });
    expect(order[0]).toMatch(/^resolved i-a, effects so far: .*i-a/);
  });

  it('fails every unit of a batch closed when the transaction cannot commit, and recovers after', async () => {
    const effects: string[] = [];
    const unit = (id: string, breakTransaction = false) =>
      uow.write(async (r) => {
        await createIdentity(r, id);
        r.afterCommit(() => effects.push(id));
        // Simulates the store losing the transaction under the batch (e.g. an I/O error).
        if (breakTransaction) {
          await sql`rollback`.execute((r as Repos & { transaction: Kysely<Database> }).transaction);
        }
        return id;
      });
    const settled = await Promise.allSettled([unit('i-x1'), unit('i-x2', true), unit('i-x3')]);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const reason = (s as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(TesseraError);
      expect(reason.code).toBe('TESSERA_UNAVAILABLE');
    }
    expect(effects).toEqual([]);
    expect(commitFailures).toHaveLength(1);
    expect(committedCount()).toBe(0);

    await expect(uow.write((r) => createIdentity(r, 'i-later'))).resolves.toBe('i-later');
    expect(committedIdentity('i-later')).toBeDefined();
    // The audit chain resumes from what is on disk, not from the lost batch.
    const events = reader.prepare('select seq, prev_hash from audit_events order by seq').all() as Array<{
      seq: number;
      prev_hash: string;
    }>;
    expect(events.map((e) => Number(e.seq))).toEqual([1]);
    expect(events[0]!.prev_hash).toBe('0'.repeat(64));
  });

  it('keeps units in a batch isolated from each other’s failures even when they touch the same rows', async () => {
    // Two units insert the same primary key in one batch: the second fails on the constraint and
    // rolls back alone; the first stays committed.
    const settled = await Promise.allSettled([
      uow.write((r) => createIdentity(r, 'i-dup')),
      uow.write((r) => createIdentity(r, 'i-dup')),
      uow.write((r) => createIdentity(r, 'i-other')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(committedIdentity('i-dup')).toBeDefined();
    expect(committedIdentity('i-other')).toBeDefined();
    expect(commitFailures).toEqual([]);
  });

  it('drain() waits for every queued write', async () => {
    let done = 0;
    for (let i = 0; i < 50; i++) void uow.write((r) => createIdentity(r, `i-d${i}`)).then(() => done++);
    await uow.drain();
    expect(done).toBe(50);
    expect(committedCount()).toBe(50);
  });

  it('fsyncs the WAL off the event loop, holding the connection: no answer and no read before it is done (ADR 0031)', async () => {
    const direct = store.direct!;
    const walSync = direct.walSync!;
    expect(walSync).toBeTypeOf('function');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let syncing = 0;
    direct.walSync = async () => {
      syncing++;
      await gate;
      await walSync();
    };
    let settled = false;
    const write = uow
      .write((r) => createIdentity(r, 'i-wal'))
      .then((v) => {
        settled = true;
        return v;
      });
    for (let i = 0; i < 200 && syncing === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(syncing).toBe(1);
    // Committed (another connection sees it) but not yet fsynced: nothing settles, no read through
    // the store sees it, and the event loop is free (these timers run).
    expect(committedIdentity('i-wal')).toBeDefined();
    let readDone = false;
    const read = uow
      .read((r) => r.identities.get('i-wal'))
      .then((v) => {
        readDone = true;
        return v;
      });
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    expect(readDone).toBe(false);
    release();
    expect(await write).toBe('i-wal');
    expect((await read)?.id).toBe('i-wal');
    // Every other write on the connection stays FULL.
    expect(direct.execute('pragma synchronous', [])).toEqual([{ synchronous: 2 }]);
    direct.walSync = walSync;
  });

  it('fails a batch closed when its WAL fsync fails, and goes on after', async () => {
    const direct = store.direct!;
    const walSync = direct.walSync!;
    direct.walSync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    const results = await Promise.allSettled([
      uow.write((r) => createIdentity(r, 'i-eio-1')),
      uow.write((r) => createIdentity(r, 'i-eio-2')),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as TesseraError;
      expect(reason).toBeInstanceOf(TesseraError);
      expect(reason.code).toBe('TESSERA_UNAVAILABLE');
    }
    expect(commitFailures).toHaveLength(1);
    direct.walSync = walSync;
    expect(await uow.write((r) => createIdentity(r, 'i-after-eio'))).toBe('i-after-eio');
    expect(direct.execute('pragma synchronous', [])).toEqual([{ synchronous: 2 }]);
  });

  it('reads see committed data only', async () => {
    const pending = uow.write((r) => createIdentity(r, 'i-read'));
    // Queued, not yet run: a read now does not see it.
    expect(await uow.read((r) => r.identities.get('i-read'))).toBeNull();
    await pending;
    expect((await uow.read((r) => r.identities.get('i-read')))?.id).toBe('i-read');
  });
});

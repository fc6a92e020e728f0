import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openStore, type Store } from '../src/storage/database.js';
import { type Leadership, startLeaderElection } from '../src/storage/leader.js';
import { freshPostgresDatabase } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(limitMs: number, condition: () => boolean): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(20);
  }
  return performance.now() - started;
}

describe('leader election', () => {
  it('on SQLite: the one process is always the leader', async () => {
    const store = openStore('sqlite::memory:');
    const changes: boolean[] = [];
    const leadership = startLeaderElection(store, { onChange: (l) => changes.push(l) });
    expect(leadership.isLeader()).toBe(true);
    expect(changes).toEqual([true]);
    await leadership.close();
    await store.close();
  });

  describe('on PostgreSQL (three candidates, separate pools and sessions)', () => {
    let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
    const stores: Store[] = [];
    const candidates: Leadership[] = [];
    const steppedDown = new Set<Leadership>();
    beforeAll(async () => {
      db = await freshPostgresDatabase();
      for (let i = 0; i < 3; i++) stores.push(openStore(db.url));
      await migrate(stores[0]!);
    });
    afterAll(async () => {
      for (const c of candidates) await c.close();
      for (const s of stores) await s.close();
      await db?.drop();
    });

    it('elects exactly one, and hands over within a few seconds when it goes', async () => {
      for (const s of stores) {
        const candidate: Leadership = startLeaderElection(s, {
          retryMs: 200,
          onChange: (leader) => {
            if (!leader) steppedDown.add(candidate);
          },
        });
        candidates.push(candidate);
      }
      const leaders = () => candidates.filter((c) => c.isLeader());
      await until(3000, () => leaders().length === 1);
      // Stable: still exactly one after several retry rounds.
      await sleep(800);
      expect(leaders()).toHaveLength(1);
      const first = leaders()[0]!;
      await first.close();
      const ms = await until(3000, () => leaders().length === 1);
      expect(ms).toBeLessThan(3000);
      expect(leaders()[0]).not.toBe(first);
      await sleep(600);
      expect(leaders()).toHaveLength(1);
    });

    it('steps down when its session is terminated, and one candidate holds the lock again', async () => {
      const before = candidates.filter((c) => c.isLeader());
      expect(before).toHaveLength(1);
      const holder = async () =>
        (
          await sql<{
            pid: number;
          }>`select pid from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`.execute(
            stores[0]!.db,
          )
        ).rows;
      const [held] = await holder();
      expect(held).toBeDefined();
      // End the leader's session from outside, as a crashed server or a cut connection would.
      await sql`select pg_terminate_backend(${held!.pid})`.execute(stores[0]!.db);
      await until(3000, () => steppedDown.has(before[0]!));
      await until(3000, () => candidates.filter((c) => c.isLeader()).length === 1);
      const now = await holder();
      expect(now).toHaveLength(1);
      expect(now[0]!.pid).not.toBe(held!.pid);
    });
  });
});

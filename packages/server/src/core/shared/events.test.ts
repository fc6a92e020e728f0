import { describe, expect, it } from 'vitest';
import { createEventBus } from './events.js';
import type { Repos } from './unit-of-work.js';

declare module './events.js' {
  interface DomainEvents {
    'test.happened': { n: number };
  }
}

/** A unit of work's repositories, reduced to what the bus uses: after-commit callbacks. */
function fakeRepos() {
  const after: Array<() => void> = [];
  return {
    repos: { afterCommit: (fn: () => void) => after.push(fn) } as unknown as Repos,
    commit: () => {
      for (const fn of after) fn();
    },
  };
}

describe('the event bus between capabilities', () => {
  it('runs transactional handlers inside the publish, committed handlers only after the commit, in order', async () => {
    const errors: unknown[] = [];
    const bus = createEventBus((_type, error) => errors.push(error));
    const seen: string[] = [];
    bus.within('test.happened', async (_r, { n }) => void seen.push(`within ${n}`));
    bus.committed('test.happened', ({ n }) => void seen.push(`committed ${n}`));
    bus.committed('test.happened', ({ n }) => void seen.push(`committed again ${n}`));
    const tx = fakeRepos();
    await bus.publish(tx.repos, 'test.happened', { n: 1 });
    expect(seen).toEqual(['within 1']);
    tx.commit();
    expect(seen).toEqual(['within 1', 'committed 1', 'committed again 1']);
    expect(errors).toEqual([]);
  });

  it('a failing transactional handler fails the publish (and so the transaction); a failing committed one is reported', async () => {
    const errors: unknown[] = [];
    const bus = createEventBus((type, error) => errors.push([type, (error as Error).message]));
    bus.within('test.happened', async ({ afterCommit }, { n }) => {
      if (n < 0) throw new Error('refused');
      afterCommit(() => {});
    });
    bus.committed('test.happened', () => {
      throw new Error('sync failure');
    });
    bus.committed('test.happened', async () => {
      throw new Error('async failure');
    });
    await expect(bus.publish(fakeRepos().repos, 'test.happened', { n: -1 })).rejects.toThrow('refused');
    const tx = fakeRepos();
    await bus.publish(tx.repos, 'test.happened', { n: 1 });
    tx.commit();
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual([
      ['test.happened', 'sync failure'],
      ['test.happened', 'async failure'],
    ]);
  });

  it('publishing with no subscriber does nothing', async () => {
    const tx = fakeRepos();
    await createEventBus(() => {}).publish(tx.repos, 'test.happened', { n: 1 });
    tx.commit();
  });
});

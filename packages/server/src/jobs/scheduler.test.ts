import { afterEach, describe, expect, it, vi } from 'vitest';
import { startJobs } from './scheduler.js';

describe('startJobs and job scope', () => {
  afterEach(() => vi.useRealTimers());

  it('runs leader jobs only while this server is the leader; every-server jobs always', async () => {
    vi.useFakeTimers();
    let leader = false;
    const runs = { everywhere: 0, once: 0 };
    const jobs = startJobs(
      [
        { name: 'everywhere', scope: 'every-server', intervalMs: 100, run: async () => runs.everywhere++ },
        { name: 'once', scope: 'leader', intervalMs: 100, run: async () => runs.once++ },
      ],
      () => {},
      { isLeader: () => leader },
    );
    await vi.advanceTimersByTimeAsync(350);
    expect(runs).toEqual({ everywhere: 3, once: 0 });
    leader = true;
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toEqual({ everywhere: 5, once: 2 });
    leader = false;
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toEqual({ everywhere: 7, once: 2 });
    await jobs.stop();
  });

  it('treats a server without an election as the leader (SQLite: one process)', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const jobs = startJobs(
      [{ name: 'once', scope: 'leader', intervalMs: 100, run: async () => runs++ }],
      () => {},
    );
    await vi.advanceTimersByTimeAsync(250);
    expect(runs).toBe(2);
    await jobs.stop();
  });
});

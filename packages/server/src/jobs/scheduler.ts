/**
 * Where a job runs when several servers share one store: `every-server` for work on the server's own
 * memory (its revocation set, its buffered `lastUsedAt` updates, its collapsed denials, its signing
 * keys); `leader` for work on the shared store that must happen once per cluster (reapers, rotation,
 * purges, checkpoints, scans). On SQLite the one process is always the leader (storage/leader.ts).
 */
export type JobScope = 'every-server' | 'leader';

/** Periodic background work. Each job runs on its own interval, never overlapping itself. */
export interface Job {
  name: string;
  intervalMs: number;
  scope: JobScope;
  run: () => Promise<unknown>;
}

export function startJobs(
  jobs: Job[],
  onError: (name: string, error: unknown) => void,
  options: {
    /** Consulted at each tick of a `leader` job: a follower skips it. Default: always the leader. */
    isLeader?: () => boolean;
  } = {},
): { stop(): Promise<void> } {
  const isLeader = options.isLeader ?? (() => true);
  const running = new Map<string, Promise<unknown>>();
  const timers = jobs.map((job) => {
    const timer = setInterval(() => {
      if (running.has(job.name)) return;
      if (job.scope === 'leader' && !isLeader()) return;
      const p = job
        .run()
        .catch((error) => onError(job.name, error))
        .finally(() => running.delete(job.name));
      running.set(job.name, p);
    }, job.intervalMs);
    timer.unref();
    return timer;
  });
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...running.values()]);
    },
  };
}

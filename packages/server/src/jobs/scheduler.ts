/** Periodic background work. Each job runs on its own interval, never overlapping itself. */
export interface Job {
  name: string;
  intervalMs: number;
  run: () => Promise<unknown>;
}

export function startJobs(
  jobs: Job[],
  onError: (name: string, error: unknown) => void,
): { stop(): Promise<void> } {
  const running = new Map<string, Promise<unknown>>();
  const timers = jobs.map((job) => {
    const timer = setInterval(() => {
      if (running.has(job.name)) return;
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

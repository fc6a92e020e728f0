import type { Clock } from '../shared/platform.port.js';

/**
 * Limits failed credential presentations per source (DESIGN §6: brute force is rate-limited and
 * audited). A fixed window per key; successes do not count. In memory, per process.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { startMs: number; failures: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** True when `key` has used up its failures in the current window. */
  isBlocked(key: string): boolean {
    const w = this.windows.get(key);
    if (!w) return false;
    if (this.clock.nowMs() - w.startMs >= this.windowMs) {
      this.windows.delete(key);
      return false;
    }
    return w.failures >= this.maxFailures;
  }

  /** Whole seconds until `key`'s window ends (at least 1): the `Retry-After` of a refusal. */
  retryAfterSeconds(key: string): number {
    const w = this.windows.get(key);
    if (!w) return 1;
    return Math.max(1, Math.ceil((w.startMs + this.windowMs - this.clock.nowMs()) / 1000));
  }

  /** Counts one event for `key` in a limiter of successes (tokens issued per client). */
  record(key: string): void {
    this.recordFailure(key);
  }

  recordFailure(key: string): void {
    const now = this.clock.nowMs();
    const w = this.windows.get(key);
    if (!w || now - w.startMs >= this.windowMs) {
      if (this.windows.size > 100_000) this.sweep(now);
      this.windows.set(key, { startMs: now, failures: 1 });
    } else {
      w.failures++;
    }
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (now - w.startMs >= this.windowMs) this.windows.delete(key);
  }
}

import type { UnitOfWork } from '../shared/unit-of-work.js';

/**
 * Tracks `lastUsedAt` of identities in memory and writes it in batches, so a busy identity costs
 * no write per request (an inventory needs minutes of precision, not milliseconds).
 */
export class LastUsedTracker {
  private pending = new Map<string, number>();

  touch(identityId: string, atMs: number): void {
    const previous = this.pending.get(identityId);
    if (previous === undefined || previous < atMs) this.pending.set(identityId, atMs);
  }

  /** Writes what accumulated since the last flush. */
  async flush(uow: UnitOfWork): Promise<number> {
    if (this.pending.size === 0) return 0;
    const batch = [...this.pending];
    this.pending = new Map();
    await uow.write((r) => r.identities.touchLastUsed(batch));
    return batch.length;
  }
}

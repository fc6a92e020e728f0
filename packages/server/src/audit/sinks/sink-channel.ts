import type { StoredAuditEvent } from '../../core/audit/audit.model.js';
import {
  type AuditCheckpointRecord,
  type AuditRecord,
  type AuditSink,
  type AuditSinkKind,
  toAuditRecord,
} from '../../core/audit/audit-sink.port.js';
import { backoffDelayMs } from './backoff.js';

type Item = { event: AuditRecord } | { checkpoint: AuditCheckpointRecord };

export interface SinkChannelDeps {
  /** Committed events after `seq`, oldest first. */
  readAfter: (seq: number, limit: number) => Promise<StoredAuditEvent[]>;
  options: {
    /** Events per delivery. */
    batchSize: number;
    /** Events held in memory per sink; beyond it the sink catches up from the ledger. */
    maxQueue: number;
    retryInitialMs: number;
    retryMaxMs: number;
  };
  /** A sink turned failing (`error` set) or recovered. */
  onHealthChange?: (kind: AuditSinkKind, healthy: boolean, error: unknown) => void;
  onError?: (kind: AuditSinkKind, error: unknown) => void;
  /** The sink fell behind its queue and reads from the ledger (`true`), or has caught up (`false`). */
  onCatchUp?: (kind: AuditSinkKind, catchingUp: boolean) => void;
}

const READ_BATCH = 1_000;
/** Checkpoints held while catching up come once a minute: a day's worth. Older ones are in the checkpoint file. */
const MAX_HELD_CHECKPOINTS = 1_440;

/**
 * One sink's ordered queue, its health and its retry timer. Each event reaches the sink once, in
 * ledger order: when the queue is full, new events are not queued; the channel reads them from the
 * ledger instead (catch-up), a batch at a time as the queue drains, until it reaches the head.
 * Checkpoints arriving meanwhile are held and queued right after the event they cover.
 */
export class SinkChannel {
  healthy = true;
  /** The newest event the sink has accepted. */
  deliveredSeq: number;
  /** Reading from the ledger rather than queueing offered events. */
  catchingUp = false;
  /** The newest event queued or delivered: a catch-up read continues after it. */
  private queuedSeq: number;
  /** The newest committed event this channel has heard of (while catching up). */
  private knownSeq: number;
  private queue: Item[] = [];
  private held: AuditCheckpointRecord[] = [];
  private attempt = 0;
  private pumping: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly sink: AuditSink,
    startSeq: number,
    private readonly deps: SinkChannelDeps,
  ) {
    this.deliveredSeq = startSeq;
    this.queuedSeq = startSeq;
    this.knownSeq = startSeq;
  }

  /** Committed events, in ledger order; those already queued (by a ledger read) are skipped. */
  enqueue(events: readonly AuditRecord[]) {
    const fresh = events.filter((e) => e.seq > this.queuedSeq);
    if (fresh.length === 0) return;
    this.knownSeq = Math.max(this.knownSeq, fresh[fresh.length - 1]!.seq);
    if (!this.catchingUp && this.queue.length + fresh.length > this.deps.options.maxQueue) {
      this.setCatchingUp(true);
    }
    if (!this.catchingUp) this.push(fresh);
    this.kick();
  }

  /** A signed checkpoint: queued after the events it covers. */
  checkpoint(checkpoint: AuditCheckpointRecord) {
    if (this.catchingUp) this.hold(checkpoint);
    else this.queue.push({ checkpoint });
    this.kick();
  }

  get pending(): number {
    return this.queue.length;
  }

  kick() {
    if (this.pumping || this.timer || this.closed) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
    });
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.catchingUp;
  }

  private push(events: readonly AuditRecord[]) {
    for (const event of events) this.queue.push({ event });
    if (events.length > 0) this.queuedSeq = events[events.length - 1]!.seq;
  }

  private hold(checkpoint: AuditCheckpointRecord) {
    this.held.push(checkpoint);
    this.knownSeq = Math.max(this.knownSeq, checkpoint.seq);
    if (this.held.length <= MAX_HELD_CHECKPOINTS) return;
    const dropped = this.held.shift()!;
    const reason = `audit sink behind for too long: checkpoint at seq ${dropped.seq} not copied (a later one covers it)`;
    this.deps.onError?.(this.sink.kind, new Error(reason));
  }

  /** Queues the held checkpoints whose events are queued (all of them with `all`). */
  private releaseCheckpoints(all = false) {
    while (this.held.length > 0 && (all || this.held[0]!.seq <= this.queuedSeq)) {
      this.queue.push({ checkpoint: this.held.shift()! });
    }
  }

  private setCatchingUp(catchingUp: boolean) {
    this.catchingUp = catchingUp;
    if (!catchingUp) this.releaseCheckpoints(true);
    this.deps.onCatchUp?.(this.sink.kind, catchingUp);
  }

  private async pump() {
    while (!this.closed && this.hasWork()) {
      if (this.needsRefill() && !(await this.step(() => this.refill(), false))) return;
      if (this.queue.length === 0) continue; // still catching up: read again
      const batch = this.next();
      if (!(await this.step(() => this.write(batch), true))) return;
      this.queue.splice(0, batch.length);
      for (const item of batch) if ('event' in item) this.deliveredSeq = item.event.seq;
      this.attempt = 0;
      this.setHealth(true, null);
    }
  }

  private needsRefill(): boolean {
    return this.catchingUp && this.queue.length < this.deps.options.batchSize;
  }

  /**
   * Reads the next events after the last queued one into the free room. Caught up when a read comes
   * back short and no event it may have missed was offered meanwhile (offers come after commit, so
   * a read that starts after an offer sees that event).
   */
  private async refill() {
    const knownBefore = this.knownSeq;
    const limit = Math.max(1, Math.min(READ_BATCH, this.deps.options.maxQueue - this.queue.length));
    const events = await this.deps.readAfter(this.queuedSeq, limit);
    this.push(events.map(toAuditRecord));
    this.releaseCheckpoints();
    const atHead = this.queuedSeq >= this.knownSeq || this.knownSeq === knownBefore;
    if (events.length < limit && atHead) this.setCatchingUp(false);
  }

  private next(): Item[] {
    const first = this.queue[0]!;
    if ('checkpoint' in first) return [first];
    const batch: Item[] = [];
    for (const item of this.queue) {
      if (!('event' in item) || batch.length >= this.deps.options.batchSize) break;
      batch.push(item);
    }
    return batch;
  }

  private async write(batch: Item[]) {
    const first = batch[0]!;
    if ('checkpoint' in first) await this.sink.writeCheckpoint(first.checkpoint);
    else await this.sink.write(batch.map((i) => (i as { event: AuditRecord }).event));
  }

  /**
   * Runs one step of the pump; on failure reports it, retries later with backoff, and for a write
   * marks the sink failing (a failed ledger read says nothing about the sink).
   */
  private async step(run: () => Promise<void>, isWrite: boolean): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (error) {
      this.deps.onError?.(this.sink.kind, error);
      if (isWrite) this.setHealth(false, error);
      this.retryLater();
      return false;
    }
  }

  private retryLater() {
    if (this.closed) return;
    const { retryInitialMs, retryMaxMs } = this.deps.options;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.kick();
      },
      backoffDelayMs(this.attempt++, retryInitialMs, retryMaxMs),
    );
    this.timer.unref();
  }

  private setHealth(healthy: boolean, error: unknown) {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.deps.onHealthChange?.(this.sink.kind, healthy, error);
  }

  /** Tries to deliver what is queued or behind for up to `graceMs`, then closes the sink. */
  async close(graceMs: number) {
    const until = Date.now() + graceMs;
    while (this.hasWork() && this.healthy && Date.now() < until) {
      this.kick();
      if (!this.pumping) break;
      await Promise.race([this.pumping, sleep(until - Date.now())]);
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pumping) await this.pumping;
    await this.sink.close().catch(() => {});
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

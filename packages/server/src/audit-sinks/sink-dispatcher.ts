import type { StoredAuditEvent } from '../core/audit/audit.model.js';
import {
  type AuditCheckpointRecord,
  type AuditRecord,
  type AuditSink,
  type AuditSinkKind,
  auditUnavailable,
  toAuditRecord,
} from '../core/audit/audit.sink.js';
import type { TesseraError } from '../core/shared/errors.js';
import { backoffDelayMs } from './backoff.js';

type Item = { event: AuditRecord } | { checkpoint: AuditCheckpointRecord };

export interface SinkDispatcherOptions {
  /** Events per delivery. */
  batchSize: number;
  /** Items held per sink; beyond it the oldest are dropped (the ledger keeps them). */
  maxQueue: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface SinkDispatcherDeps {
  sinks: AuditSink[];
  /** Committed events after `seq`, oldest first. */
  readAfter: (seq: number, limit: number) => Promise<StoredAuditEvent[]>;
  /** The sequence number of the newest committed event when delivery starts. */
  startSeq: number;
  options: SinkDispatcherOptions;
  /** Each newly committed batch, once, in order (alert rules). */
  onEvents?: (events: StoredAuditEvent[]) => void;
  /** A sink turned failing (`error` set) or recovered. */
  onHealthChange?: (kind: AuditSinkKind, healthy: boolean, error: unknown) => void;
  onError?: (kind: AuditSinkKind, error: unknown) => void;
  onLag?: (kind: AuditSinkKind, lagEvents: number) => void;
}

export interface SinkStatus {
  kind: AuditSinkKind;
  healthy: boolean;
  lagEvents: number;
}

const READ_BATCH = 1_000;

/** One sink's ordered queue, its health and its retry timer. */
class SinkChannel {
  healthy = true;
  deliveredSeq: number;
  private queue: Item[] = [];
  private attempt = 0;
  private pumping: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly sink: AuditSink,
    startSeq: number,
    private readonly deps: SinkDispatcherDeps,
  ) {
    this.deliveredSeq = startSeq;
  }

  enqueue(items: Item[]) {
    this.queue.push(...items);
    const excess = this.queue.length - this.deps.options.maxQueue;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.deps.onError?.(this.sink.kind, new Error(`audit sink queue full: ${excess} item(s) dropped`));
    }
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

  private async pump() {
    while (this.queue.length > 0) {
      const batch = this.next();
      try {
        const first = batch[0]!;
        if ('checkpoint' in first) await this.sink.writeCheckpoint(first.checkpoint);
        else await this.sink.write(batch.map((i) => (i as { event: AuditRecord }).event));
      } catch (error) {
        this.deps.onError?.(this.sink.kind, error);
        this.setHealth(false, error);
        if (!this.closed) {
          const { retryInitialMs, retryMaxMs } = this.deps.options;
          const delay = backoffDelayMs(this.attempt++, retryInitialMs, retryMaxMs);
          this.timer = setTimeout(() => {
            this.timer = null;
            this.kick();
          }, delay);
          this.timer.unref();
        }
        return;
      }
      this.queue.splice(0, batch.length);
      for (const item of batch) if ('event' in item) this.deliveredSeq = item.event.seq;
      this.attempt = 0;
      this.setHealth(true, null);
    }
  }

  private setHealth(healthy: boolean, error: unknown) {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    this.deps.onHealthChange?.(this.sink.kind, healthy, error);
  }

  /** Tries to deliver what is queued for up to `graceMs`, then closes the sink. */
  async close(graceMs: number) {
    const until = Date.now() + graceMs;
    while (this.queue.length > 0 && this.healthy && Date.now() < until) {
      if (this.pumping) await this.pumping;
      else this.kick();
      if (!this.pumping) break;
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pumping) await this.pumping;
    await this.sink.close().catch(() => {});
  }
}

/**
 * Copies committed audit events to every configured sink, after commit, in ledger order (it tails
 * the ledger by sequence number, so nothing that committed is skipped). It tracks each sink's
 * health: a sink is failing when its last delivery attempt failed, and it is retried with backoff
 * until it recovers. `refusal()` is the fail-closed gate: an error while every sink is failing.
 */
export function createAuditSinkDispatcher(deps: SinkDispatcherDeps) {
  const channels = deps.sinks.map((sink) => new SinkChannel(sink, deps.startSeq, deps));
  let headSeq = deps.startSeq;
  let reading: Promise<void> | null = null;
  let again = false;

  const reportLag = () => {
    for (const c of channels) deps.onLag?.(c.sink.kind, Math.max(0, headSeq - c.deliveredSeq));
  };

  /** Hands events to every sink and the alert rules, as one batch. */
  function deliver(events: StoredAuditEvent[]) {
    const fresh = events.filter((e) => e.seq > lastDeliveredByRead); // a ledger read may have taken some
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.seq;
    if (last > headSeq) headSeq = last;
    const items = fresh.map((event) => ({ event: toAuditRecord(event) }));
    for (const c of channels) c.enqueue(items);
    deps.onEvents?.(fresh);
  }

  /** The newest sequence number a ledger read delivered (offers at or below it are duplicates). */
  let lastDeliveredByRead = 0;

  async function readNew() {
    for (;;) {
      const events = await deps.readAfter(headSeq, READ_BATCH);
      if (events.length === 0) break;
      headSeq = events[events.length - 1]!.seq;
      lastDeliveredByRead = headSeq;
      const items = events.map((e) => ({ event: toAuditRecord(e) }));
      for (const c of channels) c.enqueue(items);
      deps.onEvents?.(events);
      if (events.length < READ_BATCH) break;
    }
    reportLag();
  }

  function poke(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = readNew()
      .catch((error) => {
        for (const c of channels) deps.onError?.(c.sink.kind, error);
      })
      .finally(() => {
        reading = null;
        if (again) {
          again = false;
          void poke();
        }
      });
    return reading;
  }

  /** Events offered since the last hand-over (they are committed already). */
  let held: StoredAuditEvent[] = [];
  function handOver() {
    if (reading) {
      // A ledger read is running: hand over when it is done, skipping what it delivered.
      void reading.finally(handOver);
      return;
    }
    const batch = held;
    held = [];
    deliver(batch);
  }

  return {
    /** New events committed: read them and hand them to every sink. */
    poke,
    /**
     * An event this process has just committed, handed over in memory (no read back). Each server
     * delivers the events it wrote, so on a shared PostgreSQL every event reaches the sinks once.
     */
    offer(event: StoredAuditEvent) {
      // Offers come one by one from the commit that just ended; they are handed on together.
      held.push(event);
      if (held.length === 1) queueMicrotask(handOver);
    },
    /** Writes a signed checkpoint to every sink (in order after the events already queued). */
    checkpoint(checkpoint: AuditCheckpointRecord) {
      for (const c of channels) c.enqueue([{ checkpoint }]);
    },
    /** Why writes must be refused now, or null. */
    refusal(): TesseraError | null {
      if (channels.length === 0 || channels.some((c) => c.healthy)) return null;
      return auditUnavailable(channels.map((c) => c.sink.kind));
    },
    status(): SinkStatus[] {
      reportLag();
      return channels.map((c) => ({
        kind: c.sink.kind,
        healthy: c.healthy,
        lagEvents: Math.max(0, headSeq - c.deliveredSeq),
      }));
    },
    /** The newest sequence number read from the ledger. */
    headSeq: () => headSeq,
    /** Waits for the reads in progress, delivers what it can within `graceMs`, closes the sinks. */
    async close(graceMs = 2_000) {
      if (reading) await reading;
      await Promise.all(channels.map((c) => c.close(graceMs)));
    },
  };
}

export type AuditSinkDispatcher = ReturnType<typeof createAuditSinkDispatcher>;

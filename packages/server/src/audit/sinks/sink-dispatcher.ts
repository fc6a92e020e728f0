import type { StoredAuditEvent } from '../../core/audit/audit.model.js';
import {
  type AuditCheckpointRecord,
  type AuditSink,
  type AuditSinkKind,
  auditUnavailable,
  toAuditRecord,
} from '../../core/audit/audit-sink.port.js';
import type { TesseraError } from '../../core/shared/errors.js';
import { SinkChannel, type SinkChannelDeps } from './sink-channel.js';

export type SinkDispatcherOptions = SinkChannelDeps['options'];

export interface SinkDispatcherDeps extends SinkChannelDeps {
  sinks: AuditSink[];
  /** The sequence number of the newest committed event when delivery starts. */
  startSeq: number;
  options: SinkDispatcherOptions;
  /** Each newly committed batch, once, in order (alert rules). */
  onEvents?: (events: StoredAuditEvent[]) => void;
  onLag?: (kind: AuditSinkKind, lagEvents: number) => void;
}

export interface SinkStatus {
  kind: AuditSinkKind;
  healthy: boolean;
  lagEvents: number;
  /** Behind its in-memory queue, reading from the ledger. */
  catchingUp: boolean;
  /** Items held in memory for the sink. */
  queued: number;
}

const READ_BATCH = 1_000;

/**
 * Copies committed audit events to every configured sink, after commit, in ledger order (it tails
 * the ledger by sequence number, so nothing that committed is skipped). It tracks each sink's
 * health: a sink is failing when its last delivery attempt failed, and it is retried with backoff
 * until it recovers. `refusal()` is the fail-closed gate: an error while every sink is failing.
 * A sink slower than the ledger is not given more than `maxQueue` events in memory: it catches up
 * from the ledger (see `SinkChannel`), so its copy has no holes.
 */
export function createAuditSinkDispatcher(deps: SinkDispatcherDeps) {
  const channelDeps: SinkChannelDeps = {
    ...deps,
    onCatchUp: (kind, catchingUp) => {
      deps.onCatchUp?.(kind, catchingUp);
      reportLag();
    },
  };
  const channels = deps.sinks.map((sink) => new SinkChannel(sink, deps.startSeq, channelDeps));
  let headSeq = deps.startSeq;
  let reading: Promise<void> | null = null;
  let again = false;

  const lagOf = (c: SinkChannel) => Math.max(0, headSeq - c.deliveredSeq);
  const reportLag = () => {
    for (const c of channels) deps.onLag?.(c.sink.kind, lagOf(c));
  };

  /** Hands events to every sink and the alert rules, as one batch. */
  function deliver(events: StoredAuditEvent[]) {
    const fresh = events.filter((e) => e.seq > lastDeliveredByRead); // a ledger read may have taken some
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.seq;
    if (last > headSeq) headSeq = last;
    const records = fresh.map(toAuditRecord);
    for (const c of channels) c.enqueue(records);
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
      const records = events.map(toAuditRecord);
      for (const c of channels) c.enqueue(records);
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
    /** Writes a signed checkpoint to every sink, after the events it covers. */
    checkpoint(checkpoint: AuditCheckpointRecord) {
      for (const c of channels) c.checkpoint(checkpoint);
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
        lagEvents: lagOf(c),
        catchingUp: c.catchingUp,
        queued: c.pending,
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

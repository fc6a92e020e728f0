import { ErrorCodes, TesseraError } from '../shared/errors.js';
import type { StoredAuditEvent } from './audit.model.js';

/** The kinds of audit sink (a closed set: metric labels and alert subjects come from it). */
export const AUDIT_SINK_KINDS = ['file', 'syslog', 'webhook'] as const;
export type AuditSinkKind = (typeof AUDIT_SINK_KINDS)[number];

/** A signed checkpoint of the chain head, as every sink receives it. */
export interface AuditCheckpointRecord {
  v: number;
  seq: number;
  hash: string;
  atMs: number;
  kid: string;
  signature: string;
}

/** A committed event on the wire: the stored row with its time in ISO-8601 UTC. */
export interface AuditRecord {
  seq: number;
  id: string;
  at: string;
  type: string;
  outcome: string;
  actor: StoredAuditEvent['actor'];
  resource: string | null;
  reason: string | null;
  requestId: string | null;
  sourceIp: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export function toAuditRecord(e: StoredAuditEvent): AuditRecord {
  return {
    seq: e.seq,
    id: e.id,
    at: new Date(e.atMs).toISOString(),
    type: e.type,
    outcome: e.outcome,
    actor: e.actor,
    resource: e.resource ?? null,
    reason: e.reason ?? null,
    requestId: e.requestId,
    sourceIp: e.sourceIp,
    data: e.data ?? {},
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/**
 * An external copy of the ledger (DESIGN §3: the store stays the source of truth). A sink delivers
 * what it is given, in order, in one attempt: it throws when the batch was not delivered, and the
 * dispatcher retries the same batch later.
 */
export interface AuditSink {
  readonly kind: AuditSinkKind;
  write(events: readonly AuditRecord[]): Promise<void>;
  writeCheckpoint(checkpoint: AuditCheckpointRecord): Promise<void>;
  close(): Promise<void>;
}

/** Every configured sink is failing: audit cannot be copied out, so writes are refused (fail closed). */
export const auditUnavailable = (failing: readonly AuditSinkKind[]) =>
  new TesseraError(
    ErrorCodes.AUDIT_UNAVAILABLE,
    'The audit trail cannot be written to any configured sink, so this request was refused; it will be accepted again once an audit sink recovers.',
    { internalReason: `every audit sink is failing: ${failing.join(', ')}` },
  );

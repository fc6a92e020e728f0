import { ErrorCodes, TesseraError } from '../shared/errors.js';
import { createIsoFormatter } from '../shared/iso-time.js';
import { ENCODED_PARTS, type EncodedParts, type StoredAuditEvent } from './audit.model.js';

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
  /** See {@link ENCODED_PARTS}: carried from the stored event, never serialised. */
  [ENCODED_PARTS]?: EncodedParts;
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

const isoAt = createIsoFormatter();

export function toAuditRecord(e: StoredAuditEvent): AuditRecord {
  return {
    [ENCODED_PARTS]: e[ENCODED_PARTS],
    seq: e.seq,
    id: e.id,
    at: isoAt(e.atMs),
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

const json = JSON.stringify;

/**
 * `JSON.stringify(record)`, byte for byte: when the record carries the JSON its `actor` and `data`
 * were stored with (and still holds those very objects), the line is put together around it, so
 * the two largest parts of an event are not serialised a second time on their way to a sink. Records
 * handed to sinks and subscribers are read-only (the audit repository freezes their `actor` and
 * `data`); a sink that needs another shape builds its own object.
 */
export function encodeAuditRecord(r: AuditRecord): string {
  const parts = r[ENCODED_PARTS];
  if (
    !parts ||
    typeof parts.actor !== 'string' ||
    typeof parts.data !== 'string' ||
    parts.actorObject !== r.actor ||
    parts.dataObject !== r.data ||
    !Number.isSafeInteger(r.seq) ||
    // A key whose value is undefined is left out by JSON.stringify: that rare shape takes the slow way.
    r.id === undefined ||
    r.at === undefined ||
    r.type === undefined ||
    r.outcome === undefined ||
    r.resource === undefined ||
    r.reason === undefined ||
    r.requestId === undefined ||
    r.sourceIp === undefined ||
    r.prevHash === undefined ||
    r.hash === undefined
  )
    return json(r);
  return `{"seq":${r.seq},"id":${json(r.id)},"at":${json(r.at)},"type":${json(r.type)},"outcome":${json(r.outcome)},"actor":${parts.actor},"resource":${json(r.resource)},"reason":${json(r.reason)},"requestId":${json(r.requestId)},"sourceIp":${json(r.sourceIp)},"data":${parts.data},"prevHash":${json(r.prevHash)},"hash":${json(r.hash)}}`;
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

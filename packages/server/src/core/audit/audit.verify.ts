/**
 * Verification of the audit ledger: the chain (every event's hash and its link to the previous
 * one, with no gap in the sequence) and the signed checkpoints of the chain head, which make the
 * deletion of the newest events detectable too. Pure: the store, the hash and the checkpoint
 * signatures come in through {@link LedgerSource}.
 */

/** An event as stored, with the fields its hash covers. */
export interface LedgerRow {
  seq: number;
  hash: string;
  prev_hash: string;
  [field: string]: unknown;
}

export interface CheckpointClaim {
  seq: number;
  hash: string;
  atMs: number;
  /** Whether its signature verified. */
  signatureValid: boolean;
}

export interface LedgerSource {
  /** Events with `seq > afterSeq`, in order, at most `limit`. */
  readBatch(afterSeq: number, limit: number): Promise<LedgerRow[]>;
  /** The hash an event must carry, given its predecessor's. */
  hashOf(prevHash: string, row: LedgerRow): string;
  checkpoints: readonly CheckpointClaim[];
  /**
   * Signed anchors of archived prefixes: the events up to `seq` were exported to an archive and
   * pruned from the store, the last of them with `hash`. Each is checked against the event at its
   * seq whenever that event is read (from an archive).
   */
  anchors?: readonly CheckpointClaim[];
  /**
   * Where the walk starts: `'anchor'` (default) after the latest anchor, for a store whose oldest
   * events were archived; `'genesis'` at event 1, when `readBatch` also reads the archives.
   */
  from?: 'anchor' | 'genesis';
}

export type LedgerProblemKind =
  | 'edited'
  | 'broken-link'
  | 'missing-events'
  | 'truncated'
  | 'checkpoint-mismatch'
  | 'forged-checkpoint'
  | 'anchor-mismatch'
  | 'forged-anchor';

export interface LedgerProblem {
  kind: LedgerProblemKind;
  /** The first event (sequence number) where the ledger stops being trustworthy. */
  seq: number;
  message: string;
}

export interface LedgerReport {
  ok: boolean;
  checkedEvents: number;
  lastSeq: number;
  checkpoints: { total: number; matched: number; latestSeq: number | null };
  /** The latest archive anchor (events up to its seq live in archive files), if any. */
  anchor: { seq: number; hash: string } | null;
  problem: LedgerProblem | null;
}

export const GENESIS_HASH = '0'.repeat(64);
const BATCH = 5000;

/** Walks the whole ledger once; reports the first problem. `onProgress` is called after each batch. */
export async function verifyLedger(
  source: LedgerSource,
  onProgress: (checkedEvents: number, lastSeq: number) => void = () => {},
): Promise<LedgerReport> {
  const bySeq = new Map<number, CheckpointClaim>();
  let latest: CheckpointClaim | null = null;
  for (const c of source.checkpoints) {
    if (!c.signatureValid) {
      return report(0, 0, source, 0, latest, {
        kind: 'forged-checkpoint',
        seq: c.seq,
        message: `A checkpoint claiming seq ${c.seq} does not carry a valid signature.`,
      });
    }
    bySeq.set(c.seq, c);
    if (!latest || c.seq > latest.seq) latest = c;
  }
  const anchors = new Map<number, CheckpointClaim>();
  let anchor: CheckpointClaim | null = null;
  for (const a of source.anchors ?? []) {
    if (!a.signatureValid) {
      return report(0, 0, source, 0, latest, {
        kind: 'forged-anchor',
        seq: a.seq,
        message: `The archive anchor claiming seq ${a.seq} does not carry a valid signature: the record of archived events was altered.`,
      });
    }
    anchors.set(a.seq, a);
    if (!anchor || a.seq > anchor.seq) anchor = a;
  }
  const start = source.from !== 'genesis' && anchor ? anchor : null;

  let expectedSeq = start ? start.seq + 1 : 1;
  let prevHash = start ? start.hash : GENESIS_HASH;
  let checked = 0;
  let matched = 0;
  const startClaim = start ? bySeq.get(start.seq) : undefined;
  if (start && startClaim) {
    if (startClaim.hash !== start.hash) {
      return report(
        0,
        start.seq,
        source,
        0,
        latest,
        {
          kind: 'anchor-mismatch',
          seq: start.seq,
          message: `The archive anchor at event ${start.seq} does not match the checkpoint signed at ${new Date(startClaim.atMs).toISOString()}.`,
        },
        anchor,
      );
    }
    matched++;
  }
  for (;;) {
    const rows = await source.readBatch(expectedSeq - 1, BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      const problem = checkRow(row, expectedSeq, prevHash, source);
      if (problem) return report(checked, expectedSeq - 1, source, matched, latest, problem, anchor);
      const anchored = anchors.get(row.seq);
      if (anchored && anchored.hash !== row.hash) {
        return report(
          checked,
          row.seq,
          source,
          matched,
          latest,
          {
            kind: 'anchor-mismatch',
            seq: row.seq,
            message: `Event ${row.seq} does not match the archive anchor signed at ${new Date(anchored.atMs).toISOString()}: the archive or the anchor was altered.`,
          },
          anchor,
        );
      }
      const claim = bySeq.get(row.seq);
      if (claim) {
        if (claim.hash !== row.hash) {
          return report(
            checked,
            row.seq,
            source,
            matched,
            latest,
            {
              kind: 'checkpoint-mismatch',
              seq: row.seq,
              message: `Event ${row.seq} does not match the checkpoint signed at ${new Date(claim.atMs).toISOString()}: the chain was rewritten.`,
            },
            anchor,
          );
        }
        matched++;
      }
      prevHash = row.hash;
      expectedSeq = row.seq + 1;
      checked++;
    }
    onProgress(checked, expectedSeq - 1);
  }
  const lastSeq = expectedSeq - 1;
  if (anchor && anchor.seq > lastSeq) {
    return report(
      checked,
      lastSeq,
      source,
      matched,
      latest,
      {
        kind: 'missing-events',
        seq: lastSeq + 1,
        message: `The events read end at ${lastSeq}, but the archive anchor proves events up to ${anchor.seq} were archived: an archive file is missing.`,
      },
      anchor,
    );
  }
  if (latest && latest.seq > lastSeq) {
    return report(
      checked,
      lastSeq,
      source,
      matched,
      latest,
      {
        kind: 'truncated',
        seq: lastSeq + 1,
        message: `The ledger ends at event ${lastSeq}, but a checkpoint signed at ${new Date(latest.atMs).toISOString()} proves events up to ${latest.seq} existed: the newest events were deleted.`,
      },
      anchor,
    );
  }
  return report(checked, lastSeq, source, matched, latest, null, anchor);
}

function checkRow(
  row: LedgerRow,
  expectedSeq: number,
  prevHash: string,
  source: LedgerSource,
): LedgerProblem | null {
  if (row.seq !== expectedSeq) {
    return {
      kind: 'missing-events',
      seq: expectedSeq,
      message: `Events ${expectedSeq}${row.seq - 1 > expectedSeq ? `–${row.seq - 1}` : ''} are missing: the next event stored is ${row.seq}.`,
    };
  }
  if (row.prev_hash !== prevHash) {
    return {
      kind: 'broken-link',
      seq: row.seq,
      message: `Event ${row.seq} does not link to event ${row.seq - 1}: an event was inserted, replaced or removed here.`,
    };
  }
  if (source.hashOf(prevHash, row) !== row.hash) {
    return { kind: 'edited', seq: row.seq, message: `Event ${row.seq} was changed after it was written.` };
  }
  return null;
}

function report(
  checked: number,
  lastSeq: number,
  source: LedgerSource,
  matched: number,
  latest: CheckpointClaim | null,
  problem: LedgerProblem | null,
  anchor: CheckpointClaim | null = null,
): LedgerReport {
  return {
    ok: problem === null,
    checkedEvents: checked,
    lastSeq,
    checkpoints: { total: source.checkpoints.length, matched, latestSeq: latest?.seq ?? null },
    anchor: anchor ? { seq: anchor.seq, hash: anchor.hash } : null,
    problem,
  };
}

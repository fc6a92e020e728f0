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

/**
 * A run of consecutive stored events that the source has already checked among themselves: their
 * sequence numbers go up by one from `firstSeq` to `lastSeq`, each event's `prev_hash` is its
 * predecessor's `hash`, and each event's hash was recomputed from its stored fields and equals the
 * stored one. What is left for the walk is where the run joins the chain (its first event must be
 * the next expected one and link to the walk's last hash) and the checkpoints and anchors inside it.
 * A source returns one instead of rows when it checked a batch on other threads: only the run's
 * ends cross back, not every event.
 */
export interface VerifiedSpan {
  kind: 'span';
  firstSeq: number;
  lastSeq: number;
  /** The `prev_hash` stored with the first event. */
  firstPrevHash: string;
  /** The `hash` stored with the last event. */
  lastHash: string;
  /**
   * The stored hash of every event in the run whose seq is in the source's `watchedSeqs` (the
   * checkpoints' and anchors' seqs).
   */
  watched: ReadonlyMap<number, string>;
}

export interface LedgerSource {
  /**
   * Events with `seq > afterSeq`, in order, at most `limit`; or a {@link VerifiedSpan} of such
   * events, starting with the first of them.
   */
  readBatch(afterSeq: number, limit: number): Promise<LedgerRow[] | VerifiedSpan>;
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
  // The seqs a verified span must report the hash of, ascending (see checkSpan).
  const watched = watchedSeqs(source);

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
    const batch = await source.readBatch(expectedSeq - 1, BATCH);
    if (!Array.isArray(batch)) {
      const span = checkSpan(batch, expectedSeq, prevHash, checked, watched, anchors, bySeq);
      if (span.problem) {
        return report(
          span.checked,
          span.lastSeq,
          source,
          matched + span.matched,
          latest,
          span.problem,
          anchor,
        );
      }
      matched += span.matched;
      checked = span.checked;
      prevHash = batch.lastHash;
      expectedSeq = batch.lastSeq + 1;
      onProgress(checked, expectedSeq - 1);
      continue;
    }
    const rows = batch;
    if (rows.length === 0) break;
    for (const row of rows) {
      const problem = checkRow(row, expectedSeq, prevHash, source);
      if (problem) return report(checked, expectedSeq - 1, source, matched, latest, problem, anchor);
      const anchored = anchors.get(row.seq);
      if (anchored && anchored.hash !== row.hash) {
        return report(checked, row.seq, source, matched, latest, anchorMismatch(row.seq, anchored), anchor);
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
            checkpointMismatch(row.seq, claim),
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

/** The ascending seqs the walk checks a stored hash at: checkpoints' and anchors'. */
export function watchedSeqs(source: Pick<LedgerSource, 'checkpoints' | 'anchors'>): number[] {
  return [...new Set([...source.checkpoints, ...(source.anchors ?? [])].map((c) => c.seq))].sort(
    (a, b) => a - b,
  );
}

/**
 * A verified span in the walk: the same checks, in the same order, as its events one by one
 * (`checkRow` then the anchor, then the checkpoint), so a report names the same event whichever
 * way the source delivered it. Inside a span only the first event's seq and link, and the hashes at
 * checkpoints and anchors, can fail.
 */
function checkSpan(
  span: VerifiedSpan,
  expectedSeq: number,
  prevHash: string,
  checkedBefore: number,
  watched: readonly number[],
  anchors: ReadonlyMap<number, CheckpointClaim>,
  bySeq: ReadonlyMap<number, CheckpointClaim>,
): { checked: number; lastSeq: number; matched: number; problem: LedgerProblem | null } {
  const first = checkRow(
    { seq: span.firstSeq, prev_hash: span.firstPrevHash, hash: '' },
    expectedSeq,
    prevHash,
    null,
  );
  if (first) return { checked: checkedBefore, lastSeq: expectedSeq - 1, matched: 0, problem: first };
  let matched = 0;
  // The first watched seq in the span (binary search), then each one up to its end.
  let lo = 0;
  let hi = watched.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (watched[mid]! < span.firstSeq) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < watched.length && watched[i]! <= span.lastSeq; i++) {
    const seq = watched[i]!;
    const hash = span.watched.get(seq);
    if (hash === undefined)
      throw new Error(`the verified span ${span.firstSeq}–${span.lastSeq} lacks the hash of event ${seq}`);
    const checked = checkedBefore + (seq - span.firstSeq);
    const anchored = anchors.get(seq);
    if (anchored && anchored.hash !== hash) {
      return { checked, lastSeq: seq, matched, problem: anchorMismatch(seq, anchored) };
    }
    const claim = bySeq.get(seq);
    if (claim) {
      if (claim.hash !== hash) {
        return { checked, lastSeq: seq, matched, problem: checkpointMismatch(seq, claim) };
      }
      matched++;
    }
  }
  return {
    checked: checkedBefore + (span.lastSeq - span.firstSeq + 1),
    lastSeq: span.lastSeq,
    matched,
    problem: null,
  };
}

const anchorMismatch = (seq: number, anchored: CheckpointClaim): LedgerProblem => ({
  kind: 'anchor-mismatch',
  seq,
  message: `Event ${seq} does not match the archive anchor signed at ${new Date(anchored.atMs).toISOString()}: the archive or the anchor was altered.`,
});

const checkpointMismatch = (seq: number, claim: CheckpointClaim): LedgerProblem => ({
  kind: 'checkpoint-mismatch',
  seq,
  message: `Event ${seq} does not match the checkpoint signed at ${new Date(claim.atMs).toISOString()}: the chain was rewritten.`,
});

function checkRow(
  row: LedgerRow,
  expectedSeq: number,
  prevHash: string,
  /** Null for the first event of a verified span, whose hash the source checked. */
  source: LedgerSource | null,
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
  if (source && source.hashOf(prevHash, row) !== row.hash) {
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

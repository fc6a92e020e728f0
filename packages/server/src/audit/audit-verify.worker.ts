/**
 * A verification worker: reads a slice of the audit ledger through its own read-only SQLite
 * connection (raw rows, one prepared statement) and checks it among itself: sequence numbers go up
 * by one, each event's prev_hash is its predecessor's hash, and each event's keyed hash recomputed
 * from its stored fields equals the stored one. It answers with the slice's ends and the stored
 * hashes at the watched seqs (checkpoints, anchors): a `VerifiedSpan` for `verifyLedger`, which
 * checks where the span joins the chain. So a few values cross back per slice, not every event,
 * and the main thread does next to nothing per event. When something inside the slice does not
 * hold, the answer is `doubt`, and the main thread reads and hashes that slice itself to name the
 * event (ADR 0053).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CHAIN_FIELDS, ChainHasher } from '../crypto/audit-ledger.js';
import { SQLite } from '../storage/sqlite-driver.js';

export interface VerifyWorkerData {
  file: string;
  chainKey: Uint8Array;
  /** Ascending seqs whose stored hash a span reports (checkpoints', anchors'). */
  watched: number[];
}

/** The events with after < seq ≤ after + count. */
export interface VerifyRequest {
  id: number;
  after: number;
  count: number;
}

export type VerifyResponse =
  | {
      id: number;
      kind: 'span';
      firstSeq: number;
      lastSeq: number;
      firstPrevHash: string;
      lastHash: string;
      watched: Array<[number, string]>;
    }
  /** No event in the range: the end of the ledger, or a gap. */
  | { id: number; kind: 'empty' }
  /** Something inside the range does not verify (a gap, a broken link, an edited event). */
  | { id: number; kind: 'doubt' };

const { file, chainKey, watched } = workerData as VerifyWorkerData;
const hasher = new ChainHasher({ chainKey });
const db = new SQLite(file, { readonly: true, fileMustExist: true });
const fields = CHAIN_FIELDS.join(', ');
// Per event, its seq and one string built by SQLite: the stored hash, a newline, then the message
// the hash covers — prev_hash, a newline, json_array() of the stored values, which for what append
// stores (integers, text, null) is byte for byte JSON.stringify of the same values: the canonical
// bytes with one JS string per event instead of one per field (and none for the two hashes).
// A row whose hash does not match that way is checked again the canonical way (its columns read
// one by one, JSON.stringify of the fields), so only the JavaScript serialisation decides a mismatch.
const range = db
  .prepare(
    `select seq, hash || char(10) || prev_hash || char(10) || json_array(${fields}) from audit_events where seq > ? and seq <= ? order by seq`,
  )
  .raw(true);
const one = db.prepare(`select prev_hash, hash, ${fields} from audit_events where seq = ?`).raw(true);

type Row = [seq: number, text: string | null];

/** `text` of a row read by `range`: the stored hash and prev_hash, and the message the hash covers. */
interface Parsed {
  hash: string;
  prevHash: string;
  message: string;
}

const HASH_LENGTH = 64;
const NEWLINE = 10;

/**
 * Splits a row's text where the two hashes end, when both are 64 characters followed by a newline;
 * otherwise null (then the canonical check reads the columns). A match of the keyed hash over the
 * message this gives is sound: the message as appended holds exactly one raw newline (JSON.stringify
 * never writes one), after a 64-character predecessor hash, so only stored columns of exactly these
 * lengths can reproduce it.
 */
function parse(text: string | null): Parsed | null {
  if (
    typeof text !== 'string' ||
    text.length <= 2 * HASH_LENGTH + 2 ||
    text.charCodeAt(HASH_LENGTH) !== NEWLINE ||
    text.charCodeAt(2 * HASH_LENGTH + 1) !== NEWLINE
  )
    return null;
  return {
    hash: text.slice(0, HASH_LENGTH),
    prevHash: text.slice(HASH_LENGTH + 1, 2 * HASH_LENGTH + 1),
    message: text.slice(HASH_LENGTH + 1),
  };
}

/**
 * The event at `seq` verifies by its stored columns, the way the main thread checks a row: its
 * prev_hash and hash are `prevHash` and `hash` (what the walk links with), and the keyed hash of
 * prev_hash and JSON.stringify of its fields is its hash.
 */
function canonical(seq: number, prevHash: string, hash: string): boolean {
  const row = one.get(seq) as unknown[] | undefined;
  if (!row || row[0] !== prevHash || row[1] !== hash) return false;
  return hasher.hash(prevHash, row.slice(2)) === hash;
}

/** Index in `watched` of the first seq ≥ `seq`. */
function firstWatched(seq: number): number {
  let lo = 0;
  let hi = watched.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (watched[mid]! < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function check(request: VerifyRequest): VerifyResponse {
  const { id } = request;
  let rows: Row[];
  try {
    rows = range.all(request.after, request.after + request.count) as Row[];
  } catch {
    // e.g. a BLOB written where text was (json_array refuses it): the main thread names the event.
    return { id, kind: 'doubt' };
  }
  const n = rows.length;
  if (n === 0) return { id, kind: 'empty' };
  const firstSeq = rows[0]![0];
  const hashes = new Array<string>(n);
  let firstPrevHash = '';
  let previous = '';
  for (let i = 0; i < n; i++) {
    const [seq, text] = rows[i]!;
    const row = parse(text);
    if (seq !== firstSeq + i || row === null || (i > 0 && row.prevHash !== previous)) {
      // A gap, a broken link, or hashes not as appended (a stored hash of another length, a
      // NULL): the main thread reads the slice column by column and names it.
      return { id, kind: 'doubt' };
    }
    if (hasher.hashMessage(row.message) !== row.hash && !canonical(seq, row.prevHash, row.hash)) {
      return { id, kind: 'doubt' };
    }
    if (i === 0) firstPrevHash = row.prevHash;
    hashes[i] = row.hash;
    previous = row.hash;
  }
  const lastSeq = firstSeq + n - 1;
  const watchedHashes: Array<[number, string]> = [];
  for (let w = firstWatched(firstSeq); w < watched.length && watched[w]! <= lastSeq; w++) {
    const seq = watched[w]!;
    watchedHashes.push([seq, hashes[seq - firstSeq]!]);
  }
  return { id, kind: 'span', firstSeq, lastSeq, firstPrevHash, lastHash: previous, watched: watchedHashes };
}

parentPort!.on('message', (request: VerifyRequest) => {
  parentPort!.postMessage(check(request));
});

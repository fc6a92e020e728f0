/**
 * A verification worker: reads a slice of the audit ledger through its own read-only SQLite
 * connection (raw rows, one prepared statement) and checks each event's keyed hash against the
 * predecessor hash the event itself carries. The main thread checks the links between events and
 * the checkpoints, so hashing, the bulk of the work, runs on several cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { CHAIN_FIELDS, ChainHasher } from '../crypto/audit-ledger.js';

export interface VerifyRequest {
  id: number;
  after: number;
  count: number;
  /** `range`: events with after < seq ≤ after + count; `limit`: the next `count` events after `after`. */
  mode: 'range' | 'limit';
}

export interface VerifyResponse {
  id: number;
  seq: number[];
  prevHash: string[];
  hash: string[];
  /** 1 where HMAC(prevHash, fields) equals the stored hash. */
  ok: Uint8Array;
}

const { file, chainKey } = workerData as { file: string; chainKey: Uint8Array };
const hasher = new ChainHasher({ chainKey });
const db = new SQLite(file, { readonly: true, fileMustExist: true });
const columns = [...CHAIN_FIELDS, 'prev_hash', 'hash'].join(', ');
const range = db
  .prepare(`select ${columns} from audit_events where seq > ? and seq <= ? order by seq`)
  .raw(true);
const limited = db.prepare(`select ${columns} from audit_events where seq > ? order by seq limit ?`).raw(true);
const PREV = CHAIN_FIELDS.length;

parentPort!.on('message', (request: VerifyRequest) => {
  const rows = (
    request.mode === 'range'
      ? range.all(request.after, request.after + request.count)
      : limited.all(request.after, request.count)
  ) as unknown[][];
  const n = rows.length;
  const response: VerifyResponse = {
    id: request.id,
    seq: new Array<number>(n),
    prevHash: new Array<string>(n),
    hash: new Array<string>(n),
    ok: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    const prevHash = row[PREV] as string;
    const hash = row[PREV + 1] as string;
    row.length = PREV; // the chained fields, in CHAIN_FIELDS order
    response.seq[i] = row[0] as number;
    response.prevHash[i] = prevHash;
    response.hash[i] = hash;
    response.ok[i] = hasher.hash(prevHash, row) === hash ? 1 : 0;
  }
  parentPort!.postMessage(response);
});

/**
 * A verification worker: reads a slice of the audit ledger through its own read-only SQLite
 * connection (raw rows, one prepared statement) and checks each event's keyed hash against the
 * predecessor hash the event itself carries. The main thread checks the links between events and
 * the checkpoints, so hashing, the bulk of the work, runs on several cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CHAIN_FIELDS, ChainHasher } from '../crypto/audit-ledger.js';
import { SQLite } from '../storage/sqlite-driver.js';

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
  /**
   * When every prev_hash and hash of the slice is 64 characters: all of them in one string
   * (prev_hash then hash, row by row), one copy between threads instead of two strings a row.
   */
  packed: string | null;
  prevHash: string[];
  hash: string[];
  /** 1 where HMAC(prevHash, fields) equals the stored hash. */
  ok: Uint8Array;
}

const { file, chainKey } = workerData as { file: string; chainKey: Uint8Array };
const hasher = new ChainHasher({ chainKey });
const db = new SQLite(file, { readonly: true, fileMustExist: true });
const fields = CHAIN_FIELDS.join(', ');
// SQLite's json_array() of the stored values is, for what append stores (integers, text, null),
// byte for byte JSON.stringify of the same values: the canonical bytes without building a JS value
// per field. A row whose hash does not match that way is checked again the canonical way (fields
// read one by one, JSON.stringify), so only the JavaScript serialisation decides a mismatch.
const select = `select seq, prev_hash, hash, json_array(${fields}) from audit_events`;
const range = db.prepare(`${select} where seq > ? and seq <= ? order by seq`).raw(true);
const limited = db.prepare(`${select} where seq > ? order by seq limit ?`).raw(true);
const one = db.prepare(`select ${fields} from audit_events where seq = ?`).raw(true);

parentPort!.on('message', (request: VerifyRequest) => {
  const rows = (
    request.mode === 'range'
      ? range.all(request.after, request.after + request.count)
      : limited.all(request.after, request.count)
  ) as Array<[number, string, string, string]>;
  const n = rows.length;
  const response: VerifyResponse = {
    id: request.id,
    seq: new Array<number>(n),
    packed: null,
    prevHash: new Array<string>(n),
    hash: new Array<string>(n),
    ok: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const [seq, prevHash, hash, serialized] = rows[i]!;
    response.seq[i] = seq;
    response.prevHash[i] = prevHash;
    response.hash[i] = hash;
    let ok = hasher.hashSerialized(prevHash, serialized) === hash;
    if (!ok) {
      const row = one.get(seq) as unknown[] | undefined;
      ok = row !== undefined && hasher.hash(prevHash, row) === hash;
    }
    response.ok[i] = ok ? 1 : 0;
  }
  if (response.prevHash.every((h, i) => h.length === 64 && response.hash[i]!.length === 64)) {
    let packed = '';
    for (let i = 0; i < n; i++) packed += response.prevHash[i]! + response.hash[i]!;
    response.packed = packed;
    response.prevHash = [];
    response.hash = [];
  }
  parentPort!.postMessage(response);
});

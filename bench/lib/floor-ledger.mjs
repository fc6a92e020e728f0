// The durable audit of the floor targets (bench/targets/*-floor.mjs): the least a server must do so
// that no answer goes out before its audit event is on disk. Rows chained by HMAC-SHA256 (the
// server's ChainHasher, from its build); every request of a batch inserted in one SQLite transaction
// (WAL, `synchronous = NORMAL`) with the request's own statements, then the WAL fsynced off the event
// loop, and only then are the batch's requests answered (one fsync in flight at a time; the next
// transaction gathers requests meanwhile).
import { randomBytes } from 'node:crypto';
import { fsync, openSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { importServer } from './server-dist.mjs';

const { ChainHasher } = await importServer('crypto/audit-ledger.js');

export function openFloorStore(dir, schema = '') {
  const file = join(dir, 'floor.db');
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    create table audit_events (seq integer primary key, at integer not null, type text not null,
      actor text not null, data text not null, prev_hash text not null, hash text not null);
    create table audit_head (id integer primary key, seq integer not null, hash text not null);
    insert into audit_head values (1, 0, '${'0'.repeat(64)}');
    ${schema}
  `);
  const insertEvent = db.prepare('insert into audit_events values (?, ?, ?, ?, ?, ?, ?)');
  const updateHead = db.prepare('update audit_head set seq = ?, hash = ? where id = 1');
  const walFd = openSync(`${file}-wal`, 'r+');

  // The server's own chain hasher (HMAC-SHA256 as two one-shot SHA-256 calls over the padded key):
  // the floor hashes exactly as Tessera does, without its own copy of that code.
  const hasher = new ChainHasher({ chainKey: randomBytes(32) });
  const hmac = (message) => hasher.hashMessage(message);

  const begin = db.prepare('begin');
  const commit = db.prepare('commit');
  let seq = 0;
  let head = '0'.repeat(64);
  let open = false;
  /** Requests of the open transaction, answered once it is durable: [value, resolve, reject]. */
  let pending = [];
  let scheduled = false;
  let syncing = false;
  const schedule = () => {
    if (scheduled || syncing) return;
    scheduled = true;
    setImmediate(flush);
  };
  function flush() {
    scheduled = false;
    if (!open) return;
    updateHead.run(seq, head);
    commit.run();
    open = false;
    const batch = pending;
    pending = [];
    syncing = true;
    fsync(walFd, (error) => {
      syncing = false;
      for (const [value, resolve, reject] of batch) error ? reject(error) : resolve(value);
      if (pending.length) schedule();
    });
  }

  /** Inside `write`: one audit row, chained to the previous one. */
  function append(type, actor, data) {
    const at = Date.now();
    const actorJson = JSON.stringify(actor);
    const dataJson = JSON.stringify(data);
    const prev = head;
    seq += 1;
    head = hmac(`${prev}\n${JSON.stringify([seq, at, type, actorJson, dataJson])}`);
    insertEvent.run([seq, at, type, actorJson, dataJson, prev, head]);
  }

  /**
   * Runs `fn` (synchronous: statements and `append` calls) in the open group transaction, opening
   * one if none is; resolves to its result once that transaction is committed and fsynced.
   */
  function write(fn) {
    if (!open) {
      begin.run();
      open = true;
    }
    const value = fn();
    return new Promise((resolve, reject) => {
      pending.push([value, resolve, reject]);
      schedule();
    });
  }

  return { db, file, write, append, close: () => db.close() };
}

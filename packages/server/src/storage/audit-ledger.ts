import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { type LedgerReport, type LedgerRow, verifyLedger } from '../core/audit/audit.verify.js';
import {
  CHAIN_FIELDS,
  type ChainHasher,
  type Checkpoint,
  type CheckpointSigner,
} from '../crypto/audit-ledger.js';
import type { Store } from './database.js';

/**
 * The checkpoint file: one signed checkpoint of the chain head per line (JSON), appended and
 * fsynced. It is the first checkpoint sink; it lives outside the database, so whoever can delete
 * the newest events from the store cannot also make the ledger look complete.
 */
export class CheckpointFile {
  constructor(readonly path: string) {}

  append(checkpoint: Checkpoint): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(checkpoint)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Every checkpoint in the file; a line that is not a checkpoint counts as a forged one. */
  readAll(): Checkpoint[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Checkpoint;
        } catch {
          return { v: 1, seq: -1, hash: '', atMs: 0, kid: '', signature: '' } satisfies Checkpoint;
        }
      });
  }

  last(): Checkpoint | null {
    const all = this.readAll();
    return all.length ? all[all.length - 1]! : null;
  }
}

/** Checkpointing and verification of the ledger in one store. */
export function createLedger(deps: {
  store: Store;
  hasher: ChainHasher;
  signer: CheckpointSigner;
  file: CheckpointFile;
}) {
  const { store, hasher, signer, file } = deps;

  async function head(): Promise<{ seq: number; hash: string } | null> {
    const row = await store.db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : null;
  }

  return {
    /** Signs the current head and appends it to the checkpoint file, unless nothing changed. */
    async checkpoint(nowMs: number): Promise<Checkpoint | null> {
      const current = await head();
      if (!current) return null;
      const last = file.last();
      if (last && last.seq === current.seq && last.hash === current.hash) return null;
      const checkpoint = signer.sign(current, nowMs);
      file.append(checkpoint);
      return checkpoint;
    },

    /** Verifies the chain and every checkpoint; `onProgress` after each batch of events. */
    verify(onProgress?: (checkedEvents: number, lastSeq: number) => void): Promise<LedgerReport> {
      return verifyLedger(
        {
          readBatch: async (afterSeq, limit) =>
            (
              await store.db
                .selectFrom('audit_events')
                .selectAll()
                .where('seq', '>', afterSeq)
                .orderBy('seq')
                .limit(limit)
                .execute()
            ).map((r) => ({ ...r, seq: Number(r.seq), at: Number(r.at) }) as LedgerRow),
          hashOf: (prevHash, row) =>
            hasher.hash(
              prevHash,
              CHAIN_FIELDS.map((field) => row[field]),
            ),
          checkpoints: file
            .readAll()
            .map((c) => ({ seq: c.seq, hash: c.hash, atMs: c.atMs, signatureValid: signer.verify(c) })),
        },
        onProgress,
      );
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

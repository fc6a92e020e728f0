import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  type CheckpointClaim,
  GENESIS_HASH,
  type LedgerReport,
  type LedgerRow,
  type VerifiedSpan,
  verifyLedger,
  watchedSeqs,
} from '../core/audit/audit.verify.js';
import { conflict, validationError } from '../core/shared/errors.js';
import {
  CHAIN_FIELDS,
  type ChainHasher,
  type Checkpoint,
  type CheckpointSigner,
} from '../crypto/audit-ledger.js';
import type { Store } from '../storage/database.js';
import { SQLite } from '../storage/sqlite-driver.js';
import type { VerifyRequest, VerifyResponse, VerifyWorkerData } from './audit-verify.worker.js';

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

/** The stored columns of an event, in the order of an archive line and of the raw reads. */
const COLUMNS = [...CHAIN_FIELDS, 'prev_hash', 'hash'] as const;
const PREV = CHAIN_FIELDS.length;
const HASH = PREV + 1;

/** What `archive` did. */
export interface ArchiveResult {
  fromSeq: number;
  throughSeq: number;
  events: number;
  /** The archive file (JSON lines, the stored rows, mode 0600). */
  file: string;
  /** The signed anchor the stored chain now starts from. */
  anchor: Checkpoint;
}

/** An archive file's name says which events it holds: `events-<from>-<to>.jsonl`. */
const ARCHIVE_NAME = /^events-(\d+)-(\d+)\.jsonl$/;

/** The archive files of a directory, oldest first. */
export function listArchiveFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, m: ARCHIVE_NAME.exec(name) }))
    .filter((f) => f.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((f) => join(dir, f.name));
}

/**
 * Reads archive files as one sequence of rows, a file at a time. A line that is not an event
 * becomes a row that cannot verify (so the walk names its place).
 */
function archiveReader(files: readonly string[]) {
  let fileIndex = 0;
  let rows: LedgerRow[] = [];
  let position = 0;
  let lastSeq = 0;
  const where = new Map<string, { from: number; to: number }>();
  const load = (file: string) => {
    const lines = readFileSync(file, 'utf8').split('\n');
    const out: LedgerRow[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let row: LedgerRow;
      try {
        row = JSON.parse(line) as LedgerRow;
        if (typeof row !== 'object' || row === null || typeof row.seq !== 'number')
          throw new Error('not an event');
      } catch {
        row = { seq: lastSeq + 1, prev_hash: '', hash: '' };
      }
      lastSeq = row.seq;
      out.push(row);
    }
    if (out.length) where.set(basename(file), { from: out[0]!.seq, to: out[out.length - 1]!.seq });
    return out;
  };
  return {
    /** The next rows of the archives, at most `limit`; empty when every file is read. */
    next(limit: number): LedgerRow[] {
      while (position >= rows.length) {
        if (fileIndex >= files.length) return [];
        rows = load(files[fileIndex++]!);
        position = 0;
      }
      const batch = rows.slice(position, position + limit);
      position += batch.length;
      return batch;
    },
    /** The archive file an event was read from. */
    fileOf(seq: number): string | null {
      for (const [name, range] of where) if (seq >= range.from && seq <= range.to) return name;
      return null;
    },
  };
}

/** Below this many stored events, starting workers costs more than it saves. */
const PARALLEL_FROM = 20_000;

interface StoreReader {
  readBatch: (afterSeq: number, limit: number) => Promise<LedgerRow[] | VerifiedSpan>;
  close: () => Promise<void>;
}

/**
 * Verification workers (`audit-verify.worker.ts`), each with its own read-only connection, check
 * consecutive slices of the ledger ahead of the walk, each slice among itself, and answer with a
 * {@link VerifiedSpan}; the walk (`verifyLedger`) checks where each span joins the chain and the
 * checkpoints and anchors inside it. A slice a worker doubts, or finds empty (the end, or a gap),
 * is read here as rows through `rows`, so the walk names the event exactly as without workers.
 */
function parallelReader(
  file: string,
  hasher: ChainHasher,
  workers: number,
  watched: number[],
  rows: StoreReader,
): StoreReader | null {
  const url = new URL('./audit-verify.worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null; // running from TypeScript sources
  const workerData: VerifyWorkerData = { file, chainKey: hasher.chainKey(), watched };
  const pool = Array.from({ length: workers }, () => new Worker(url, { workerData }));
  const pending = new Map<number, { resolve: (r: VerifyResponse) => void; reject: (e: unknown) => void }>();
  for (const worker of pool) {
    worker.on('message', (response: VerifyResponse) => {
      pending.get(response.id)?.resolve(response);
      pending.delete(response.id);
    });
    worker.on('error', (error) => {
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    });
  }
  let nextId = 0;
  const ask = (after: number, count: number) =>
    new Promise<VerifyResponse>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      pool[id % pool.length]!.postMessage({ id, after, count } satisfies VerifyRequest);
    });
  const ahead: Array<{ after: number; result: Promise<VerifyResponse> }> = [];
  const depth = workers * 2;
  const fill = (from: number, count: number) => {
    let after = ahead.length ? ahead[ahead.length - 1]!.after + count : from;
    while (ahead.length < depth) {
      const result = ask(after, count);
      result.catch(() => {}); // awaited when its turn comes; discarded ones must not go unhandled
      ahead.push({ after, result });
      after += count;
    }
  };
  return {
    async readBatch(afterSeq, limit) {
      if (ahead[0]?.after !== afterSeq) {
        ahead.length = 0;
        fill(afterSeq, limit);
      }
      const next = ahead.shift()!;
      fill(afterSeq, limit);
      const result = await next.result;
      if (result.kind === 'span') {
        return {
          kind: 'span',
          firstSeq: result.firstSeq,
          lastSeq: result.lastSeq,
          firstPrevHash: result.firstPrevHash,
          lastHash: result.lastHash,
          watched: new Map(result.watched),
        };
      }
      // Something in this slice does not verify, or nothing is in it (the end, or a gap): read it
      // here, event by event, and let the walk say what and where.
      ahead.length = 0;
      return rows.readBatch(afterSeq, limit);
    },
    close: async () => {
      await Promise.all(pool.map((w) => w.terminate()));
      await rows.close();
    },
  };
}

/** Checkpointing, verification and archiving of the ledger in one store. */
export function createLedger(deps: {
  store: Store;
  hasher: ChainHasher;
  signer: CheckpointSigner;
  file: CheckpointFile;
  /** Where archive files go; defaults to `archive/` beside the checkpoint file. */
  archiveDir?: string;
}) {
  const { store, hasher, signer, file } = deps;
  const archiveDir = deps.archiveDir ?? join(dirname(file.path), 'archive');

  async function head(): Promise<{ seq: number; hash: string } | null> {
    const row = await store.db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : null;
  }

  /** Every archive anchor, oldest first (none when the store predates them). */
  async function anchors() {
    try {
      const rows = await store.db.selectFrom('audit_anchors').selectAll().orderBy('seq').execute();
      return rows.map((r) => ({
        v: 1 as const,
        seq: Number(r.seq),
        hash: r.hash,
        atMs: Number(r.at),
        kid: r.kid,
        signature: r.signature,
        fromSeq: Number(r.from_seq),
        file: r.file,
      }));
    } catch {
      return [];
    }
  }

  /**
   * Batches of stored events. On a SQLite file: a separate read-only connection (WAL: it sees only
   * committed rows, never the writer's open batch), one prepared statement in raw mode, and rows
   * shaped as `{seq, prev_hash, hash, fields}` with the chained fields as an array. Elsewhere:
   * Kysely.
   */
  function storeReader(watched: number[]): StoreReader {
    if (store.dialect === 'sqlite' && store.sqliteFile && existsSync(store.sqliteFile)) {
      const reader = new SQLite(store.sqliteFile, { readonly: true, fileMustExist: true });
      const statement = reader
        .prepare(`select ${COLUMNS.join(', ')} from audit_events where seq > ? order by seq limit ?`)
        .raw(true);
      const rows: StoreReader = {
        readBatch: async (afterSeq, limit) => {
          const rows = statement.all(afterSeq, limit) as unknown[][];
          const out = new Array<LedgerRow>(rows.length);
          for (let i = 0; i < rows.length; i++) {
            const r = rows[i]!;
            out[i] = {
              seq: r[0] as number,
              prev_hash: r[PREV] as string,
              hash: r[HASH] as string,
              fields: r,
            };
            r.length = PREV; // the chained fields, in CHAIN_FIELDS order
          }
          return out;
        },
        close: async () => {
          reader.close();
        },
      };
      const span = reader.prepare('select min(seq), max(seq) from audit_events').raw(true).get() as
        | [number | null, number | null]
        | undefined;
      const workers = Math.min(4, availableParallelism());
      if (span && span[0] !== null && span[1]! - span[0]! >= PARALLEL_FROM && workers > 1) {
        const parallel = parallelReader(store.sqliteFile, hasher, workers, watched, rows);
        if (parallel) return parallel;
      }
      return rows;
    }
    return {
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
      close: async () => {},
    };
  }

  const hashOf = (prevHash: string, row: LedgerRow) =>
    hasher.hash(prevHash, Array.isArray(row.fields) ? row.fields : CHAIN_FIELDS.map((field) => row[field]));

  const claim = (c: Checkpoint): CheckpointClaim => ({
    seq: c.seq,
    hash: c.hash,
    atMs: c.atMs,
    signatureValid: signer.verify(c),
  });

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

    /**
     * Verifies the chain and every checkpoint; `onProgress` after each batch of events. Without
     * `archives` the walk starts at the latest archive anchor; with them (archive files, or a
     * directory of them) it starts at genesis, reads the archives, then the store, and checks each
     * anchor against its event: the whole history.
     */
    async verify(
      onProgress?: (checkedEvents: number, lastSeq: number) => void,
      options: { archives?: readonly string[] | string } = {},
    ): Promise<LedgerReport> {
      const archives =
        typeof options.archives === 'string' ? listArchiveFiles(options.archives) : options.archives;
      const fromArchives = archives ? archiveReader(archives) : null;
      const checkpoints = file.readAll().map(claim);
      const anchorClaims = (await anchors()).map(claim);
      const stored = storeReader(watchedSeqs({ checkpoints, anchors: anchorClaims }));
      try {
        const report = await verifyLedger(
          {
            readBatch: async (afterSeq, limit) => {
              if (fromArchives) {
                const rows = fromArchives.next(limit);
                if (rows.length) return rows;
              }
              return stored.readBatch(afterSeq, limit);
            },
            hashOf,
            checkpoints,
            anchors: anchorClaims,
            from: archives ? 'genesis' : 'anchor',
          },
          onProgress,
        );
        const inArchive = report.problem && fromArchives?.fileOf(report.problem.seq);
        if (report.problem && inArchive) report.problem.message += ` (archive ${inArchive})`;
        return report;
      } finally {
        await stored.close();
      }
    },

    /**
     * Exports the events from the oldest stored one through `throughSeq` to
     * `<archiveDir>/events-<from>-<to>.jsonl` (the stored rows, 0600, fsynced), records a signed
     * anchor of event `throughSeq`, and prunes the exported events, in one transaction. The range
     * is verified first: an archive never launders a broken chain under a fresh signature.
     */
    async archive(throughSeq: number, nowMs: number): Promise<ArchiveResult> {
      if (!Number.isSafeInteger(throughSeq) || throughSeq < 1)
        throw validationError('throughSeq must be a positive integer');
      const current = await head();
      const previous = (await anchors()).at(-1) ?? null;
      const fromSeq = (previous?.seq ?? 0) + 1;
      if (!current || throughSeq > current.seq)
        throw validationError(`throughSeq ${throughSeq} is beyond the newest event (${current?.seq ?? 0})`);
      if (throughSeq < fromSeq) throw conflict(`events up to ${previous!.seq} are already archived`);
      if (previous && !signer.verify(previous))
        throw conflict(`the archive anchor at ${previous.seq} does not verify`);

      const rows = await store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>=', fromSeq)
        .where('seq', '<=', throughSeq)
        .orderBy('seq')
        .execute();
      let prevHash = previous?.hash ?? GENESIS_HASH;
      let expected = fromSeq;
      const lines: string[] = [];
      for (const r of rows) {
        const row = { ...r, seq: Number(r.seq), at: Number(r.at) } as LedgerRow;
        if (row.seq !== expected || row.prev_hash !== prevHash || hashOf(prevHash, row) !== row.hash) {
          throw conflict(`event ${expected} does not verify: run \`tessera audit verify\` before archiving`);
        }
        lines.push(JSON.stringify(Object.fromEntries(COLUMNS.map((c) => [c, row[c]]))));
        prevHash = row.hash;
        expected++;
      }
      if (expected !== throughSeq + 1)
        throw conflict(`event ${expected} is missing: run \`tessera audit verify\``);

      mkdirSync(archiveDir, { recursive: true, mode: 0o700 });
      const path = join(archiveDir, `events-${fromSeq}-${throughSeq}.jsonl`);
      const temporary = `${path}.tmp`;
      const fd = openSync(temporary, 'w', 0o600);
      try {
        writeSync(fd, `${lines.join('\n')}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      chmodSync(temporary, 0o600);
      renameSync(temporary, path);
      const dirFd = openSync(archiveDir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }

      const anchor = signer.sign({ seq: throughSeq, hash: prevHash }, nowMs);
      await store.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('audit_anchors')
          .values({
            seq: anchor.seq,
            hash: anchor.hash,
            from_seq: fromSeq,
            at: anchor.atMs,
            kid: anchor.kid,
            signature: anchor.signature,
            file: basename(path),
          })
          .execute();
        await trx.deleteFrom('audit_events').where('seq', '<=', throughSeq).execute();
      });
      return { fromSeq, throughSeq, events: lines.length, file: path, anchor };
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

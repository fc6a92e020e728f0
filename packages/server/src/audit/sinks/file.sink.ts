import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  type AuditCheckpointRecord,
  type AuditRecord,
  type AuditSink,
  encodeAuditRecord,
} from '../../core/audit/audit-sink.port.js';

export interface FileSinkOptions {
  /** `…/events.jsonl`; rotated files are `events.1.jsonl` (newest) … `events.<keep>.jsonl`. */
  path: string;
  /** Rotate before a write would take the file past this size. */
  maxBytes: number;
  /** Rotated files kept; older ones are deleted. */
  keep: number;
}

/** `events.jsonl`, 2 → `events.2.jsonl`. */
export function rotatedPath(path: string, index: number): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.${index}${ext}`);
}

/**
 * How long a file handle is kept open. Appending through an open handle costs one write per batch
 * instead of mkdir + open + write + close (each a round trip through the libuv pool, which competes
 * with the event loop for the same core under load); reopening by path at least this often follows
 * the file if something outside Tessera moved it (logrotate), as reopening per batch did.
 */
const REOPEN_AFTER_MS = 1_000;

/** JSON lines (one event or checkpoint per line), mode 0600, size-based rotation. */
export function createFileSink({ path, maxBytes, keep }: FileSinkOptions): AuditSink {
  let size: number | null = null;
  let handle: FileHandle | null = null;
  let openedAtMs = 0;

  async function release() {
    const h = handle;
    handle = null;
    await h?.close();
  }

  async function writable(): Promise<FileHandle> {
    if (handle && performance.now() - openedAtMs < REOPEN_AFTER_MS) return handle;
    await release();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    handle = await open(path, 'a', 0o600);
    openedAtMs = performance.now();
    return handle;
  }

  async function currentSize(): Promise<number> {
    if (size === null)
      size = await stat(path).then(
        (s) => s.size,
        () => 0,
      );
    return size;
  }

  async function rotate() {
    await rm(rotatedPath(path, keep), { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      await rename(rotatedPath(path, i), rotatedPath(path, i + 1)).catch((error) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
    if (keep > 0) await rename(path, rotatedPath(path, 1));
    else await rm(path, { force: true });
    size = 0;
  }

  async function append(lines: string[]) {
    const text = `${lines.join('\n')}\n`;
    const bytes = Buffer.byteLength(text);
    const current = await currentSize();
    if (current > 0 && current + bytes > maxBytes) {
      await release();
      await rotate();
    }
    const target = await writable();
    try {
      await target.writeFile(text);
    } catch (error) {
      // Reopened on the next attempt (the sink is retried with backoff).
      await release().catch(() => {});
      size = null;
      throw error;
    }
    size = (size ?? 0) + bytes;
  }

  return {
    kind: 'file',
    write: (events: readonly AuditRecord[]) => append(events.map(encodeAuditRecord)),
    writeCheckpoint: (checkpoint: AuditCheckpointRecord) => append([JSON.stringify({ checkpoint })]),
    close: () => release(),
  };
}

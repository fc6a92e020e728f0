import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { AuditCheckpointRecord, AuditRecord, AuditSink } from '../core/audit/audit.sink.js';

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

/** JSON lines (one event or checkpoint per line), mode 0600, size-based rotation. */
export function createFileSink({ path, maxBytes, keep }: FileSinkOptions): AuditSink {
  let size: number | null = null;

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
    const text = lines.map((l) => `${l}\n`).join('');
    const bytes = Buffer.byteLength(text);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const current = await currentSize();
    if (current > 0 && current + bytes > maxBytes) await rotate();
    const handle = await open(path, 'a', 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    size = (size ?? 0) + bytes;
  }

  return {
    kind: 'file',
    write: (events: readonly AuditRecord[]) => append(events.map((e) => JSON.stringify(e))),
    writeCheckpoint: (checkpoint: AuditCheckpointRecord) => append([JSON.stringify({ checkpoint })]),
    close: async () => {},
  };
}

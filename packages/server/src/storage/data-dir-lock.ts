import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The lock file a running server (or an offline command) holds in its data directory. */
export const LOCK_FILE = 'server.lock';

/** A data directory is held by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly holder: string,
  ) {
    super(
      holder === 'server'
        ? `the data directory ${dataDir} is in use by a running Tessera server (pid ${pid}); stop it first ` +
            `(lock file ${join(dataDir, LOCK_FILE)})`
        : `the data directory ${dataDir} is in use by \`tessera ${holder}\` (pid ${pid}); wait for it to finish ` +
            `(lock file ${join(dataDir, LOCK_FILE)})`,
    );
    this.name = 'DataDirLockedError';
  }
}

interface LockContent {
  pid: number;
  holder: string;
  nonce: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(path: string): LockContent | null {
  try {
    const content = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    return typeof content.pid === 'number' && Number.isInteger(content.pid) && content.pid > 0
      ? { pid: content.pid, holder: String(content.holder ?? 'server'), nonce: String(content.nonce ?? '') }
      : null;
  } catch {
    return null;
  }
}

/**
 * Takes `<dataDir>/server.lock` (created exclusively, mode 0600) for `holder` (`server`, or the offline
 * command's name), so that offline commands do not run under a live server and a server does not
 * start under them (issue 10, item 9). A lock left by a process that no longer exists is taken over.
 * Returns the release function, which removes the file only while it is still this holder's.
 *
 * @throws {@link DataDirLockedError} when a live process holds the lock
 */
export function acquireDataDirLock(dataDir: string, holder: string): () => void {
  // An offline command on a directory that does not exist leaves it so (it fails on its own terms).
  if (holder !== 'server' && holder !== 'init' && !existsSync(dataDir)) return () => {};
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  const nonce = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  // Written whole under a private name, then linked into place: the link is atomic and fails if
  // the lock exists, so no one ever reads a half-written lock.
  const temporary = `${path}.${nonce}`;
  writeFileSync(temporary, `${JSON.stringify({ pid: process.pid, holder, nonce })}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temporary, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw error;
        const current = read(path);
        if (current && alive(current.pid)) throw new DataDirLockedError(dataDir, current.pid, current.holder);
        rmSync(path, { force: true }); // stale: its process is gone (or the file is not a lock)
      }
    }
  } finally {
    rmSync(temporary, { force: true });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (read(path)?.nonce === nonce) rmSync(path, { force: true });
  };
}

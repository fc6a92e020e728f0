import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The exclusive lock: a server on a SQLite store, or an offline command. */
export const LOCK_FILE = 'server.lock';
/** Shared locks, one per server of a PostgreSQL store (several may share a data dir for its root key). */
const SHARED = /^server-(\d+)\.lock$/;

/** A data directory is held by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly holder: string,
    lockFile: string,
  ) {
    super(
      holder === 'server'
        ? `the data directory ${dataDir} is in use by a running Tessera server (pid ${pid}); stop it first ` +
            `(lock file ${lockFile})`
        : `the data directory ${dataDir} is in use by \`tessera ${holder}\` (pid ${pid}); wait for it to finish ` +
            `(lock file ${lockFile})`,
    );
    this.name = 'DataDirLockedError';
  }
}

interface LockContent {
  pid: number;
  holder: string;
  nonce: string;
  /** When the holding process started (ms): tells a restarted process that reused the pid apart. */
  processStartMs?: number;
}

/** This process's start, to the second or so. */
const processStartMs = () => Math.round(Date.now() - process.uptime() * 1000);

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
      ? {
          pid: content.pid,
          holder: String(content.holder ?? 'server'),
          nonce: String(content.nonce ?? ''),
          ...(typeof content.processStartMs === 'number' ? { processStartMs: content.processStartMs } : {}),
        }
      : null;
  } catch {
    return null;
  }
}

/** Throws when a live process holds `path`; removes it when its process is gone (a stale lock). */
function refuseIfHeld(dataDir: string, path: string, ownNonce: string): void {
  const current = read(path);
  if (current && current.nonce === ownNonce) return;
  // A lock with this very pid from an earlier process (a container's pid 1 after a crash) is stale.
  const earlierIncarnation =
    current?.pid === process.pid &&
    current.processStartMs !== undefined &&
    Math.abs(current.processStartMs - processStartMs()) > 2_000;
  if (current && !earlierIncarnation && alive(current.pid))
    throw new DataDirLockedError(dataDir, current.pid, current.holder, path);
  rmSync(path, { force: true });
}

/** Writes `path` whole (under a private name, then linked into place: atomic, fails if it exists). */
function create(path: string, content: LockContent): boolean {
  const temporary = `${path}.${content.nonce}`;
  writeFileSync(temporary, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Holds `<dataDir>` for `holder` (issue 10, item 9) so that offline commands (`init`, `root-key
 * rotate`) never run under a live server and a server never starts under them. `exclusive` (a
 * server on SQLite, or an offline command) takes `server.lock`; a shared holder (a server of a
 * PostgreSQL store: several may use one data dir for its root key) writes `server-<pid>.lock`, and
 * an exclusive holder refuses while any live one exists. Each side writes its file before looking
 * for the other's, so of two racing starts at least one sees the other. A lock whose process no
 * longer exists is taken over. Returns the release function (it removes only this holder's file).
 *
 * @throws {@link DataDirLockedError} naming the pid of a live holder
 */
export function acquireDataDirLock(
  dataDir: string,
  holder: string,
  mode: 'exclusive' | 'shared' = 'exclusive',
): () => void {
  // An offline command on a directory that does not exist leaves it so (it fails on its own terms).
  if (holder !== 'server' && holder !== 'init' && !existsSync(dataDir)) return () => {};
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const content: LockContent = {
    pid: process.pid,
    holder,
    nonce: `${process.pid}-${Date.now()}-${Math.random()}`,
    processStartMs: processStartMs(),
  };
  const exclusive = join(dataDir, LOCK_FILE);
  const mine = mode === 'exclusive' ? exclusive : join(dataDir, `server-${process.pid}.lock`);
  const release = () => {
    if (read(mine)?.nonce === content.nonce) rmSync(mine, { force: true });
  };
  if (mode === 'exclusive') {
    for (let attempt = 0; !create(exclusive, content); attempt++) {
      if (attempt >= 2) throw new Error(`could not take the lock ${exclusive}`);
      refuseIfHeld(dataDir, exclusive, content.nonce);
    }
  } else {
    writeFileSync(mine, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  }
  try {
    if (mode === 'shared') refuseIfHeld(dataDir, exclusive, content.nonce);
    else
      for (const name of readdirSync(dataDir))
        if (SHARED.test(name)) refuseIfHeld(dataDir, join(dataDir, name), content.nonce);
  } catch (error) {
    release();
    throw error;
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

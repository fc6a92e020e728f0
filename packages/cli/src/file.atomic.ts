/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over the
 * target, fsync the directory. Readers see the old content or the new one, never an empty or
 * partial file.
 */

import { chmod, mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Owner read/write only. */
export const FILE_MODE = 0o600;
/** Owner only. */
export const DIR_MODE = 0o700;

/**
 * Atomically replaces `path` with `content`, mode 0600. A symlink at `path` is followed, so the link
 * stays and its target is replaced.
 *
 * @param path - target file
 * @param content - the whole new content
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const target = await resolveTarget(path);
  const dir = dirname(target);
  // The name only has to be unique: `wx` (O_CREAT|O_EXCL) refuses an existing file or symlink, so a
  // guessable name cannot redirect the write; the directory is the owner's anyway.
  const temp = join(
    dir,
    `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 12)}.tmp`,
  );
  const handle = await open(temp, 'wx', FILE_MODE);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      // Explicit chmod: the umask may have narrowed the mode, and an fchmod is cheap.
      await handle.chmod(FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Creates `dir` (and parents) with mode 0700, and narrows an existing one to 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE);
}

async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw err;
  }
}

/** fsync the directory so the rename itself is durable (not supported everywhere: best effort). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some file systems cannot fsync a directory.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

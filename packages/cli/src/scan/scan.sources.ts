/**
 * What `tessera scan` reads (ADR 0020): a working tree (honouring `.gitignore` files at every
 * level), the files git tracks, the lines a staged change adds, or the lines each commit added.
 */

import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import ignore, { type Ignore } from 'ignore';
import { CliError } from '../cli.errors.js';

const run = promisify(execFile);

/** One piece of text to scan, and where it came from. */
export interface ScanUnit {
  /** Path relative to the scanned root, with `/` separators. */
  path: string;
  text: string;
  /** The commit that added these lines (history), or `STAGED` for the index. */
  commit?: string;
  /** Line numbers in the file of each line of `text`, when `text` is a set of added lines. */
  lineMap?: number[];
  bytes: number;
}

/** Files larger than this are skipped (generated bundles, archives), and reported as skipped. */
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

/** True for content that looks binary (a NUL in the first 8 KiB), which is not scanned. */
export const isBinary = (buf: Buffer) => buf.subarray(0, 8192).includes(0);

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, maxBuffer: 1024 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const message = (error as { stderr?: string }).stderr?.trim().split('\n')[0] ?? String(error);
    throw new CliError(
      'TESSERA_SCAN_GIT_FAILED',
      `git ${args[0]} failed: ${message}`,
      'run it inside a git work tree',
    );
  }
}

/** Every file under `root` that no `.gitignore` on its way excludes (`.git` itself never). */
export async function* walkTree(root: string): AsyncGenerator<string> {
  async function* walk(dir: string, rules: Array<{ base: string; ig: Ignore }>): AsyncGenerator<string> {
    let here = rules;
    try {
      const text = await readFile(join(dir, '.gitignore'), 'utf8');
      here = [...rules, { base: dir, ig: ignore().add(text) }];
    } catch {}
    const ignored = (path: string, isDir: boolean) =>
      here.some(({ base, ig }) => {
        const rel = toPosix(relative(base, path));
        return rel !== '' && ig.ignores(isDir ? `${rel}/` : rel);
      });
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === '.git' || ignored(path, true)) continue;
        yield* walk(path, here);
      } else if (e.isFile() && !ignored(path, false)) yield path;
    }
  }
  yield* walk(root, []);
}

/** Files git tracks under `root`, and untracked ones it does not ignore. */
export async function gitFiles(root: string): Promise<string[]> {
  const out = await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.']);
  return [...new Set(out.split('\0').filter(Boolean))].map((p) => join(root, p));
}

/** Reads a file as a unit, or null when it is binary, too large or unreadable. */
export async function fileUnit(root: string, path: string): Promise<ScanUnit | null> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_FILE_BYTES) return null;
    const buf = await readFile(path);
    if (isBinary(buf)) return null;
    return { path: toPosix(relative(root, path)), text: buf.toString('utf8'), bytes: buf.length };
  } catch {
    return null;
  }
}

/**
 * Parses `git diff`/`git log -p` output with `-U0` into the lines each file gained, per commit.
 * Only added lines are scanned: a secret a commit removed was added by an earlier one.
 */
export function addedLines(patch: string, defaultCommit: string): ScanUnit[] {
  const units: ScanUnit[] = [];
  let commit = defaultCommit;
  let current: { path: string; lines: string[]; lineMap: number[] } | null = null;
  let next = 0;
  const flush = () => {
    if (current && current.lines.length > 0) {
      const text = current.lines.join('\n');
      units.push({
        path: current.path,
        text,
        commit,
        lineMap: current.lineMap,
        bytes: Buffer.byteLength(text),
      });
    }
    current = null;
  };
  for (const line of patch.split('\n')) {
    if (line.startsWith('commit ') && /^commit [0-9a-f]{40}$/.test(line)) {
      flush();
      commit = line.slice(7);
    } else if (line.startsWith('+++ ')) {
      flush();
      const target = line.slice(4);
      current = target === '/dev/null' ? null : { path: target.replace(/^b\//, ''), lines: [], lineMap: [] };
    } else if (line.startsWith('@@ ')) {
      const m = /\+(\d+)/.exec(line);
      next = m ? Number(m[1]) : 0;
    } else if (current && line.startsWith('+')) {
      current.lines.push(line.slice(1));
      current.lineMap.push(next++);
    }
  }
  flush();
  return units;
}

/** The lines the staged change adds (what `git commit` would record). */
export async function stagedUnits(root: string): Promise<ScanUnit[]> {
  const patch = await git(root, [
    'diff',
    '--cached',
    '--no-color',
    '--no-ext-diff',
    '-U0',
    '--diff-filter=ACMR',
    '--',
    '.',
  ]);
  return addedLines(patch, 'STAGED');
}

/** The lines every commit (since `since`, exclusive, when given) added, newest first. */
export async function historyUnits(root: string, since: string | undefined): Promise<ScanUnit[]> {
  const range = since ? [`${since}..HEAD`] : ['--all'];
  const patch = await git(root, [
    'log',
    '-p',
    '-U0',
    '--no-color',
    '--no-ext-diff',
    '--format=commit %H',
    '--diff-filter=ACMR',
    ...range,
    '--',
    '.',
  ]);
  return addedLines(patch, 'unknown');
}

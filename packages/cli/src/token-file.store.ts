/**
 * UID token files: either the raw token (`u-…`, one line) or a key=value file with a `UID_TOKEN=…`
 * line (the seed's `demo-tokens` format). Saving replaces only the token, keeps every other line,
 * quoting and `export`, and is atomic (see {@link writeFileAtomic}).
 */

import { readFile } from 'node:fs/promises';
import type { UidTokenStore } from '@tessera/sdk';
import { CliError } from './cli.errors.js';
import { writeFileAtomic } from './file.atomic.js';

/** The key read and written in key=value token files. */
export const DEFAULT_TOKEN_KEY = 'UID_TOKEN';

/** A parsed token file: the token and how to write a new one back in the same form. */
export interface ParsedTokenFile {
  token: string;
  form: 'raw' | 'key-value';
  /** The file's content with the token replaced. */
  render(newToken: string): string;
}

const TOKEN_SHAPE = /^[A-Za-z0-9._~+/=-]+$/;

function keyLine(key: string): RegExp {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(\\s*(?:export\\s+)?${k}\\s*=\\s*)(["']?)([^"'\\s]*)\\2(\\s*(?:#.*)?)$`);
}

/**
 * Parses a token file's text.
 *
 * @param text - the file content
 * @param source - the file name, for messages
 * @param key - the key of key=value files
 * @throws {@link CliError} when no token can be found
 */
export function parseTokenFile(text: string, source: string, key = DEFAULT_TOKEN_KEY): ParsedTokenFile {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const pattern = keyLine(key);
  const at = lines.findIndex((line) => pattern.test(line));
  if (at !== -1) {
    const match = pattern.exec(lines[at] as string) as RegExpExecArray;
    const token = match[3] ?? '';
    if (!token) throw new CliError('TESSERA_TOKEN_FILE_INVALID', `${source}: the ${key}= line is empty`);
    return {
      token,
      form: 'key-value',
      render(newToken: string): string {
        checkShape(newToken);
        const out = [...lines];
        out[at] = `${match[1]}${match[2]}${newToken}${match[2]}${match[4] ?? ''}`;
        return out.join(newline);
      },
    };
  }
  const meaningful = lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const only = meaningful[0];
  if (meaningful.length !== 1 || only === undefined || only.includes('=') || !TOKEN_SHAPE.test(only)) {
    throw new CliError(
      'TESSERA_TOKEN_FILE_INVALID',
      `${source}: expected a single token or a ${key}=… line`,
      `write the token alone in the file, or as ${key}=u-…`,
    );
  }
  return {
    token: only,
    form: 'raw',
    render(newToken: string): string {
      checkShape(newToken);
      return `${newToken}\n`;
    },
  };
}

function checkShape(token: string): void {
  // A token with a newline or spaces would corrupt the file's other lines.
  if (!TOKEN_SHAPE.test(token))
    throw new CliError('TESSERA_TOKEN_INVALID_SHAPE', 'the new token has an unexpected shape');
}

/**
 * Reads the token from a token file.
 *
 * @throws {@link CliError} when the file cannot be read or holds no token
 */
export async function readTokenFile(path: string, key = DEFAULT_TOKEN_KEY): Promise<string> {
  return parseTokenFile(await readText(path), path, key).token;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new CliError('TESSERA_TOKEN_FILE_UNREADABLE', `cannot read token file ${path} (${code})`);
  }
}

/**
 * A {@link UidTokenStore} backed by a token file. `save` returns only once the new content is
 * durable. `initialToken` overrides the file's token for `load` until the first save (used when the
 * current token is given on the command line and the file is only the destination).
 */
export class FileUidTokenStore implements UidTokenStore {
  readonly #path: string;
  readonly #key: string;
  #override: string | undefined;

  /**
   * @param path - the token file
   * @param options - `key` of key=value files; `initialToken` to use instead of the file's token
   */
  constructor(path: string, options: { key?: string; initialToken?: string } = {}) {
    this.#path = path;
    this.#key = options.key ?? DEFAULT_TOKEN_KEY;
    this.#override = options.initialToken;
  }

  /** The token file's path. */
  get path(): string {
    return this.#path;
  }

  /** @inheritDoc */
  async load(): Promise<string> {
    return this.#override ?? readTokenFile(this.#path, this.#key);
  }

  /**
   * Durably replaces the token, keeping the file's form. Refuses to overwrite a file that is not a
   * token file (so a wrong `--token-file` cannot clobber unrelated content).
   */
  async save(token: string): Promise<void> {
    checkShape(token);
    let existing: string | undefined;
    try {
      existing = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const content =
      existing === undefined || existing.trim() === ''
        ? `${token}\n`
        : parseTokenFile(existing, this.#path, this.#key).render(token);
    await writeFileAtomic(this.#path, content);
    this.#override = undefined;
  }
}

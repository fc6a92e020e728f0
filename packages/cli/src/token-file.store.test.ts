import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './cli.errors.js';
import { writeFileAtomic } from './file.atomic.js';
import { FileUidTokenStore, parseTokenFile, readTokenFile } from './token-file.store.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-token-file-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OLD = 'u-OLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOL_1';
const NEW = 'u-NEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNE-2';

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('parseTokenFile', () => {
  it('reads a raw token, ignoring blank lines and comments', () => {
    expect(parseTokenFile(`${OLD}\n`, 'f').token).toBe(OLD);
    expect(parseTokenFile(`# my token\n\n  ${OLD}  \n`, 'f').token).toBe(OLD);
    expect(parseTokenFile(`${OLD}`, 'f').render(NEW)).toBe(`${NEW}\n`);
  });

  it('reads and rewrites a UID_TOKEN= line, keeping every other line, quotes, export and comments', () => {
    const text = `# demo tokens\nACCESS_ID=p-abc\nexport UID_TOKEN="${OLD}"  # rotated hourly\nOTHER='x'\n`;
    const parsed = parseTokenFile(text, 'f');
    expect(parsed.form).toBe('key-value');
    expect(parsed.token).toBe(OLD);
    expect(parsed.render(NEW)).toBe(text.replace(OLD, NEW));
    const plain = `UID_TOKEN=${OLD}\nACCESS_ID=p-abc`;
    expect(parseTokenFile(plain, 'f').render(NEW)).toBe(`UID_TOKEN=${NEW}\nACCESS_ID=p-abc`);
  });

  it('keeps CRLF line endings', () => {
    const text = `ACCESS_ID=p\r\nUID_TOKEN=${OLD}\r\n`;
    expect(parseTokenFile(text, 'f').render(NEW)).toBe(`ACCESS_ID=p\r\nUID_TOKEN=${NEW}\r\n`);
  });

  it('supports another key', () => {
    expect(parseTokenFile(`PARENT=${OLD}\n`, 'f', 'PARENT').token).toBe(OLD);
  });

  it('refuses files without a token, and never echoes content in the error', () => {
    for (const text of [
      '',
      'ACCESS_ID=p-abc\nSECRET=hunter2\n',
      'two\nlines\n',
      'UID_TOKEN=\n',
      'has space\n',
    ]) {
      let err: unknown;
      try {
        parseTokenFile(text, 'tokens.env');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CliError);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('refuses to write a token that would corrupt the file', () => {
    expect(() => parseTokenFile(`UID_TOKEN=${OLD}\nA=1\n`, 'f').render('u-bad\nA=2')).toThrow(CliError);
  });
});

describe('FileUidTokenStore', () => {
  it('loads, saves atomically with mode 0600, and preserves the key=value form', async () => {
    const file = join(dir, 'demo-tokens');
    await writeFile(file, `ACCESS_ID=p-abc\nUID_TOKEN=${OLD}\n`, { mode: 0o644 });
    const store = new FileUidTokenStore(file);
    expect(await store.load()).toBe(OLD);
    await store.save(NEW);
    expect(await readFile(file, 'utf8')).toBe(`ACCESS_ID=p-abc\nUID_TOKEN=${NEW}\n`);
    expect(await mode(file)).toBe(0o600);
    expect(await store.load()).toBe(NEW);
    expect(await readdir(dir)).toEqual(['demo-tokens']);
  });

  it('creates a raw file when none exists, and uses the initial token until the first save', async () => {
    const file = join(dir, 'token');
    const store = new FileUidTokenStore(file, { initialToken: OLD });
    expect(await store.load()).toBe(OLD);
    await store.save(NEW);
    expect(await readFile(file, 'utf8')).toBe(`${NEW}\n`);
    expect(await mode(file)).toBe(0o600);
    expect(await readTokenFile(file)).toBe(NEW);
  });

  it('refuses to overwrite a file that is not a token file', async () => {
    const file = join(dir, 'config.env');
    await writeFile(file, 'DATABASE_URL=postgres://x\nPORT=1\n');
    await expect(new FileUidTokenStore(file).save(NEW)).rejects.toBeInstanceOf(CliError);
    expect(await readFile(file, 'utf8')).toBe('DATABASE_URL=postgres://x\nPORT=1\n');
  });

  it('replaces the target of a symlink and keeps the link', async () => {
    const target = join(dir, 'real-token');
    const link = join(dir, 'token-link');
    await writeFile(target, `${OLD}\n`);
    await symlink(target, link);
    await new FileUidTokenStore(link).save(NEW);
    expect(await readFile(target, 'utf8')).toBe(`${NEW}\n`);
    expect(await readFile(link, 'utf8')).toBe(`${NEW}\n`);
  });

  it('reports an unreadable file by path and errno only', async () => {
    await expect(readTokenFile(join(dir, 'missing'))).rejects.toThrow(
      /cannot read token file .*missing \(ENOENT\)/,
    );
  });

  it('leaves the old content in place when the write fails', async () => {
    if (process.getuid?.() === 0) return; // root ignores directory permissions
    const file = join(dir, 'token');
    await writeFile(file, `${OLD}\n`);
    await chmod(dir, 0o500);
    try {
      await expect(new FileUidTokenStore(file).save(NEW)).rejects.toThrow();
    } finally {
      await chmod(dir, 0o700);
    }
    expect(await readFile(file, 'utf8')).toBe(`${OLD}\n`);
  });
});

describe('writeFileAtomic', () => {
  it('never exposes an empty or partial file to a concurrent reader', async () => {
    const file = join(dir, 'token');
    const tokens = Array.from(
      { length: 40 },
      (_, i) => `u-${String(i).padStart(4, '0')}${'x'.repeat(20_000)}\n`,
    );
    await writeFileAtomic(file, tokens[0] as string);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = await readFile(file, 'utf8');
        seen.add(
          text.length === tokens[0]?.length && text.endsWith('x\n') ? 'complete' : `bad:${text.length}`,
        );
      }
    })();
    for (const t of tokens) await writeFileAtomic(file, t);
    writing = false;
    await reader;
    expect([...seen]).toEqual(['complete']);
    expect(await readFile(file, 'utf8')).toBe(tokens.at(-1));
    expect(await readdir(dir)).toEqual(['token']);
  });
});

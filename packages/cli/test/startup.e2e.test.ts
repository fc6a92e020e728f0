import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bin } from './server-process.js';

/**
 * Issue 10, item 8: a client command must not pay for the server. The built `tessera` is run with a
 * module hook that reports every module it loads; `--help` and a client command (against a port
 * where nothing listens) must load neither @tessera/server nor its heavy dependencies, nor the
 * agent's YAML parser.
 */

const dir = mkdtempSync(join(tmpdir(), 'tessera-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  "export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); }\n",
);
const register = join(dir, 'register.mjs');
writeFileSync(
  register,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

function loadedModules(args: string[]): Promise<{ code: number; modules: string[] }> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      ['--import', pathToFileURL(register).href, bin, ...args],
      {
        env: { ...process.env, TESSERA_CONFIG_DIR: join(dir, 'config'), TESSERA_TOKEN: 't-x' },
        timeout: 30_000,
      },
      (err, _stdout, stderr) => {
        const modules = stderr
          .split('\n')
          .filter((l) => l.startsWith('LOADED '))
          .map((l) => l.slice(7));
        ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, modules });
      },
    );
  });
}

const HEAVY = [
  /packages\/server\//,
  /node_modules\/(fastify|kysely|better-sqlite3|pg|mysql2|redis|@redis|yaml|pino)\//,
];

describe('CLI start-up', () => {
  it.each([
    [['--help']],
    [['list-items', '--url', 'http://127.0.0.1:9']],
    [['auth-method', 'list', '--url', 'http://127.0.0.1:9', '--json']],
  ])('%j loads no server code and no heavy dependency', async (args) => {
    const { modules } = await loadedModules(args);
    expect(modules.some((m) => m.endsWith('/packages/cli/dist/cli.main.js'))).toBe(true);
    const heavy = modules.filter((m) => HEAVY.some((re) => re.test(m)));
    expect(heavy).toEqual([]);
  });
});

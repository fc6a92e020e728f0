/**
 * Issue 10, item 9: `tessera root-key rotate` against a live server's data directory is refused
 * with a message naming the server's pid, and changes nothing; once the server stops, it works.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, run, startServerProcess } from './server-process.js';

describe('offline commands under a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-e2e-'));
  const dataDir = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('root-key rotate exits non-zero naming the pid while the server runs, and works after it stops', async () => {
    const server = await startServerProcess(dataDir);
    const env = { ...process.env, TESSERA_ROOT_KEY: '' };
    let keyBefore: string;
    try {
      keyBefore = readFileSync(join(dataDir, 'root.key'), 'utf8');
      const refused = await run(process.execPath, [bin, 'root-key', 'rotate', '--data-dir', dataDir], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`in use by a running Tessera server (pid ${server.server.pid})`);
      expect(readFileSync(join(dataDir, 'root.key'), 'utf8')).toBe(keyBefore);
      const init = await run(process.execPath, [bin, 'init', '--data-dir', dataDir], env);
      expect(init.code).not.toBe(0);
      expect(init.stderr).toContain(`pid ${server.server.pid}`);
    } finally {
      await server.stop();
    }
    const rotated = await run(process.execPath, [bin, 'root-key', 'rotate', '--data-dir', dataDir], env);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(readFileSync(join(dataDir, 'root.key'), 'utf8')).not.toBe(keyBefore!);
  }, 60_000);
});

import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLite } from '../../server/src/storage/sqlite-driver.js';
import { bin, root, run, startServerProcess } from './server-process.js';

/**
 * The seed's Universal Identity walk-through, run as a shell script against a real server process
 * with the built `tessera` binary: the same thing a person does after `npm install && npm start`.
 */
describe('CLI walk-through against a real server', () => {
  let dir: string;
  let server: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
    const started = await startServerProcess(join(dir, 'data'));
    server = started.server;
    url = started.url;
    writeFileSync(join(dir, 'tessera'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
    chmodSync(join(dir, 'tessera'), 0o755);
    env = {
      ...process.env,
      PATH: `${dir}:${process.env.PATH}`,
      TESSERA_URL: url,
      TESSERA_CONFIG_DIR: join(dir, 'config'),
      HOME: dir,
    };
    const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
    const configured = await run(
      join(dir, 'tessera'),
      ['configure', '--access-id', admin.accessId, '--access-key', admin.accessKey],
      env,
    );
    expect(configured.code, configured.stderr).toBe(0);
    expect(configured.stdout + configured.stderr).not.toContain(admin.accessKey);
  }, 60_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs create method → generate → auth → rotate → reuse refused → children → tree → revokeSelf → revokeAll', async () => {
    const result = await run('bash', [join(root, 'examples/uid-walkthrough.sh')], env);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('== Walk-through complete');
    expect(result.stdout).toMatch(/Token: t-ey/);
    expect(result.stdout).toContain('├──');
  }, 120_000);

  it('verifies the audit ledger online and offline, and names a tampered event', async () => {
    const online = await run(join(dir, 'tessera'), ['audit', 'verify'], env);
    expect(online.code, online.stderr).toBe(0);
    expect(online.stdout).toMatch(/^Audit ledger verified: [\d,]+ events/);
    const offline = await run(
      join(dir, 'tessera'),
      ['audit', 'verify', '--data-dir', join(dir, 'data')],
      env,
    );
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stderr).toMatch(/verified [\d,]+ events/); // progress
    const db = new SQLite(join(dir, 'data', 'tessera.db'));
    db.prepare("update audit_events set reason = 'nothing to see' where seq = 3").run();
    db.close();
    const tampered = await run(join(dir, 'tessera'), ['audit', 'verify', '--json'], env);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout).problem).toMatchObject({ kind: 'edited', seq: 3 });
  });

  it('shuts down gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

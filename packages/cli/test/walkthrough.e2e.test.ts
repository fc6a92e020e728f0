import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLite } from '../../server/src/storage/sqlite-driver.js';
import { bin, type ConfiguredServer, root, run, startConfiguredServer } from './server-process.js';

/**
 * The seed's Universal Identity walk-through, run as a shell script against a real server process
 * with the built `tessera` binary: the same thing a person does after `npm install && npm start`.
 */
describe('CLI walk-through against a real server', () => {
  let server: ConfiguredServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-e2e-');
    dir = server.dir;
    writeFileSync(join(dir, 'tessera'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
    chmodSync(join(dir, 'tessera'), 0o755);
    env = { ...server.env, PATH: `${dir}:${process.env.PATH}` };
    const { stdout, stderr } = server.configured;
    expect(stdout + stderr).not.toContain(server.admin.accessKey);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
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
    const exited = new Promise<number | null>((r) => server.server.once('exit', (code) => r(code)));
    server.server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

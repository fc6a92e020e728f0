import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { verifyAuditLedgerOffline } from '../src/server.js';
import { SQLite } from '../src/storage/sqlite-driver.js';
import { freePort } from './cluster.helpers.js';

/**
 * "No response before its commit" (DESIGN §3), tested the hard way: a real server process is
 * killed with SIGKILL while exchanges are in flight. After a restart every exchange that got a 200
 * has its audit event, and the chain verifies.
 */
const bin = resolve(__dirname, '../../cli/bin/tessera.js');

async function start(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [bin, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  // Generous: a loaded CI machine can take many seconds to start a Node process.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`server did not start (exit code ${child.exitCode}): ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const post = (port: number, path: string, body: unknown, token?: string) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('durability under SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-kill-'));
  const dataDir = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the audit event of every answered exchange, and a chain that verifies', async () => {
    const port = await freePort();
    let server = await start(dataDir, port);
    const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
    const adminToken = (await (await post(port, '/v1/auth', { accessType: 'access_key', ...admin })).json())
      .token;
    expect(
      (await post(port, '/v1/auth-methods', { type: 'universal_identity', name: '/kill/test' }, adminToken))
        .status,
    ).toBe(201);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      tokens.push(
        (await (await post(port, '/v1/uid/tokens', { authMethodName: '/kill/test' }, adminToken)).json())
          .token,
      );
    }

    // 40 clients exchange tokens as fast as they can; the server is killed mid-stream.
    const answered: string[] = [];
    let stop = false;
    const client = async (k: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await post(port, '/v1/auth', {
            accessType: 'universal_identity',
            uidToken: tokens[(k + i) % tokens.length],
          });
          if (r.status === 200) {
            const { token } = await r.json();
            answered.push(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti);
          }
        } catch {
          // the connection died with the server: this exchange got no answer
        }
      }
    };
    const clients = Array.from({ length: 40 }, (_, k) => client(k));
    await new Promise((r) => setTimeout(r, 1500));
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    stop = true;
    await Promise.all(clients);
    expect(answered.length).toBeGreaterThan(100);

    // Restart on the same data dir (SQLite recovers its WAL), then stop it cleanly.
    server = await start(dataDir, port);
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));

    const db = new SQLite(join(dataDir, 'tessera.db'), { readonly: true });
    const logged = new Set(
      db
        .prepare(`select actor from audit_events where type = 'auth.succeeded'`)
        .all()
        .map((row) => JSON.parse((row as { actor: string }).actor).tokenId as string),
    );
    db.close();
    const lost = answered.filter((jti) => !logged.has(jti));
    expect(lost, `${lost.length} answered exchanges have no audit event`).toEqual([]);

    const report = await verifyAuditLedgerOffline(loadConfig({ dataDir }, {}));
    expect(report.problem).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.checkedEvents).toBeGreaterThanOrEqual(answered.length);
  }, 60_000);
});

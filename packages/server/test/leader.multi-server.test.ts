import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, freePort, sleep } from './cluster.helpers.js';
import { freshPostgresDatabase } from './harness.js';

/**
 * Issue 11: two real server processes on one PostgreSQL database. Exactly one is the leader and
 * runs the once-per-cluster jobs (seen here through the audit checkpoint job, which writes to the
 * server's own data directory); after the leader is killed with SIGKILL the other takes over within
 * a few seconds.
 */

interface Server {
  port: number;
  dataDir: string;
  child: ChildProcess;
}

async function start(dataDir: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  );
  for (let i = 0; ; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { port, dataDir, child };
    if (i > 500 || child.exitCode !== null) throw new Error('server did not start');
    await sleep(20);
  }
}

/** The `tessera_leader` gauge of a server, or null if it does not answer. */
async function leaderGauge(s: Server): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('tessera_leader '));
    return line ? Number(line.split(' ')[1]) : null;
  } catch {
    return null;
  }
}

const checkpoints = (s: Server) => {
  const file = join(s.dataDir, 'audit', 'checkpoints.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
};

/** A write on `s`: an exchange appends an audit event, so the ledger head moves. */
async function touchLedger(s: Server, admin: { accessId: string; accessKey: string }) {
  const r = await fetch(`http://127.0.0.1:${s.port}/v1/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessType: 'access_key', ...admin }),
  });
  expect(r.status).toBe(200);
}

async function until(limitMs: number, condition: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(50);
  }
  return performance.now() - started;
}

describe('leader election with two server processes on one PostgreSQL database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-leader-'));
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  const servers: Server[] = [];

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    const env = {
      TESSERA_STORE_URL: db.url,
      TESSERA_ROOT_KEY: randomBytes(32).toString('base64'),
      TESSERA_AUDIT_CHECKPOINT_SECONDS: '1',
      TESSERA_METRICS_PUBLIC: 'true',
    };
    servers.push(await start(join(dir, 'a'), env));
    servers.push(await start(join(dir, 'b'), env));
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await sleep(200);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs leader jobs on exactly one server, and on the other within seconds of a SIGKILL', async () => {
    const admin = JSON.parse(readFileSync(join(dir, 'a', 'admin.json'), 'utf8'));
    const gauges = async () => Promise.all(servers.map(leaderGauge));
    await until(5000, async () => (await gauges()).sort().join() === '0,1');
    const [ga] = await gauges();
    const leader = servers[ga === 1 ? 0 : 1]!;
    const follower = servers[ga === 1 ? 1 : 0]!;

    // The ledger moves (writes on both servers); only the leader checkpoints it.
    for (let i = 0; i < 3; i++) {
      await touchLedger(leader, admin);
      await touchLedger(follower, admin);
      await sleep(1200);
    }
    expect(checkpoints(leader)).toBeGreaterThan(0);
    expect(checkpoints(follower)).toBe(0);
    expect(await gauges()).toEqual(servers.map((s) => (s === leader ? 1 : 0)));

    leader.child.kill('SIGKILL');
    const tookMs = await until(5000, async () => (await leaderGauge(follower)) === 1);
    expect(tookMs).toBeLessThan(5000);
    console.log(`takeover after SIGKILL: ${Math.round(tookMs)} ms`);
    // It now runs the leader jobs: the next checkpoint is its own.
    await touchLedger(follower, admin);
    await until(4000, async () => checkpoints(follower) > 0);
  }, 60_000);
});

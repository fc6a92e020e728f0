import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { verifyAuditLedgerOffline } from '../src/server.js';
import { SQLite } from '../src/storage/sqlite-driver.js';
import { call, type Node, sleep, startNode, startOwnPostgres, until } from './cluster.helpers.js';
import { adminSession, startTestServer, type TestServer } from './harness.js';

/**
 * Issue 19, faults: the store restarting under load, a full disk, clock jumps and a stalled audit
 * sink. Tessera answers a retryable 503 (or 507 for a full disk) with Retry-After, never a 500 or a
 * hang, reports it on /readyz, and recovers on its own.
 */
const retryable = (r: { status: number; headers: Headers | null }) =>
  (r.status === 503 || r.status === 507) && Number(r.headers?.get('retry-after')) >= 1;

/** Drives `clients` loops of `request` until stopped; tallies statuses and anything not allowed. */
function load(
  clients: number,
  request: (i: number) => Promise<{ status: number; headers: Headers | null; body: any }>,
) {
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  let stop = false;
  let i = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (!stop) {
      const started = performance.now();
      const r = await request(i++);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status >= 500 && !retryable(r)) bad.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      if (r.status === 0) bad.push(`network: ${String(r.body).slice(0, 200)}`);
      if (performance.now() - started > 8000) bad.push('an answer took more than 8 s');
      if (r.status >= 500) await sleep(20);
    }
  });
  return {
    statuses,
    bad,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

describe('PostgreSQL restarted under load', () => {
  let pg: Awaited<ReturnType<typeof startOwnPostgres>> | null = null;
  let node: Node | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pgfault-'));
  afterAll(async () => {
    await node?.stop();
    pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After while it is down, /readyz says so, and recovers on its own', async () => {
    pg = await startOwnPostgres();
    node = await startNode('pgfault', join(dir, 'data'), {
      TESSERA_STORE_URL: pg.url,
      TESSERA_ROOT_KEY: randomBytes(32).toString('base64'),
    });
    const n = node;
    const admin = JSON.parse(readFileSync(join(dir, 'data', 'admin.json'), 'utf8'));
    const token = (await call(n.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }))
      .body.token;
    const acked: string[] = [];
    const traffic = load(8, async (i) => {
      if (i % 2) return call(n.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } });
      const name = `/pgfault/s${i}`;
      const r = await call(n.url, 'POST', '/v1/secrets', { token, body: { name, value: `v${i}` } });
      if (r.status === 201) acked.push(name);
      return r;
    });
    await sleep(800);
    pg.stop();
    let ready: unknown = null;
    const downMs = await until(5000, async () => {
      const r = await call(n.url, 'GET', '/readyz');
      ready = [r.status, r.body];
      return r.status === 503;
    }).catch((e) => {
      throw new Error(`${e.message}: /readyz ${JSON.stringify(ready)}\n${n.log()}`);
    });
    const during = await call(n.url, 'POST', '/v1/secrets', {
      token,
      body: { name: '/pgfault/during', value: 'x' },
    });
    expect(retryable(during), JSON.stringify(during.body)).toBe(true);
    expect(during.body.error.code).toBe('TESSERA_UNAVAILABLE');
    expect((await call(n.url, 'GET', '/healthz')).status).toBe(200);
    await sleep(1000);
    pg.start();
    const upMs = await until(15_000, async () => (await call(n.url, 'GET', '/readyz')).status === 200);
    await until(10_000, async () => {
      const r = await call(n.url, 'POST', '/v1/secrets', {
        token,
        body: { name: `/pgfault/after-${Date.now()}`, value: 'x' },
      });
      return r.status === 201;
    });
    await sleep(500);
    await traffic.stop();
    console.log(
      `PostgreSQL restart: /readyz 503 after ${Math.round(downMs)} ms, 200 again ${Math.round(upMs)} ms after the restart; statuses ${JSON.stringify(Object.fromEntries(traffic.statuses))}`,
    );
    expect(traffic.bad).toEqual([]);
    expect(traffic.statuses.get(503) ?? 0).toBeGreaterThan(0);
    // Every acknowledged write survived the restart.
    for (const name of acked.slice(-20)) {
      const r = await call(n.url, 'GET', `/v1/secrets/value?name=${encodeURIComponent(name)}`, { token });
      expect(r.status, name).toBe(200);
    }
  }, 90_000);
});

describe('the SQLite data directory fills up', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'tessera-full-'));
  let node: Node | null = null;
  let mounted = false;
  afterAll(async () => {
    await node?.kill();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('refuses writes with 507 TESSERA_STORAGE_FULL, keeps reading, corrupts nothing, and resumes', async () => {
    // A 24 MB tmpfs (needs CAP_SYS_ADMIN, as root in the CI container).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    mounted = true;
    const dataDir = join(mnt, 'data');
    const env = { TESSERA_ROOT_KEY: randomBytes(32).toString('base64') };
    node = await startNode('full', dataDir, env);
    const n = node;
    const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
    const token = (await call(n.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }))
      .body.token;
    expect(
      (await call(n.url, 'POST', '/v1/secrets', { token, body: { name: '/full/before', value: 'kept' } }))
        .status,
    ).toBe(201);

    // Fill the disk, then write until the store refuses.
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
    } catch {
      // ENOSPC: the disk is full, as intended
    }
    const value = randomBytes(6000).toString('base64');
    let refused: Awaited<ReturnType<typeof call>> | null = null;
    const statuses = new Set<number>();
    for (let i = 0; i < 400 && !refused; i++) {
      const r = await call(n.url, 'POST', '/v1/secrets', { token, body: { name: `/full/s${i}`, value } });
      statuses.add(r.status);
      if (r.status !== 201) refused = r;
    }
    expect(refused, `no write was refused: ${[...statuses]}`).not.toBeNull();
    expect(retryable(refused!), `${refused!.status} ${JSON.stringify(refused!.body)}`).toBe(true);
    console.log(`disk full: ${refused!.status} ${refused!.body.error.code}`);
    expect(refused!.body.error.code).toBe('TESSERA_STORAGE_FULL');
    // Still alive. An authenticated read records an audit event before it answers (fail closed),
    // so it is refused the same way; health, readiness-free routes and the JWKS go on.
    expect((await call(n.url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(n.url, 'GET', '/.well-known/jwks.json')).status).toBe(200);
    const read = await call(n.url, 'GET', '/v1/secrets/value?name=/full/before', { token });
    expect([200, 507]).toContain(read.status);
    expect(retryable(read) || read.body.value === 'kept').toBe(true);

    // Space returns: writes resume without a restart.
    rmSync(filler, { force: true });
    await until(10_000, async () => {
      const r = await call(n.url, 'POST', '/v1/secrets', {
        token,
        body: { name: `/full/after-${Date.now()}`, value: 'x' },
      });
      return r.status === 201;
    });
    expect((await call(n.url, 'GET', '/v1/secrets/value?name=/full/before', { token })).body.value).toBe(
      'kept',
    );
    await n.stop();
    node = null;

    // Nothing corrupt: SQLite's integrity check, and the audit chain.
    const db = new SQLite(join(dataDir, 'tessera.db'), { readonly: true });
    expect(db.prepare('pragma integrity_check').get()).toEqual({ integrity_check: 'ok' });
    db.close();
    const report = await verifyAuditLedgerOffline(loadConfig({ dataDir }, env));
    expect(report.problem).toBeNull();
    expect(report.ok).toBe(true);
  }, 90_000);
});

describe('clock jumps', () => {
  let s: TestServer | null = null;
  afterAll(async () => {
    await s?.close();
  });

  it('a jump back keeps tokens and the audit chain valid; a jump forward expires what it should', async () => {
    s = await startTestServer('sqlite');
    const t = s;
    const before = await adminSession(t);
    // A small step back (NTP correction) is within the 60 s skew allowed for \`iat\`.
    t.clock.advance(-30);
    expect((await t.call('GET', '/v1/identities?limit=1', { token: before })).status).toBe(200);
    // A large one (a VM restored from a snapshot): signing in and writing go on. (A token it has
    // never seen, issued more than 60 s "in the future", is refused: ADR 0023.)
    t.clock.advance(-3600);
    const unseen = await t.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: t.adminAccessId, accessKey: t.adminAccessKey },
    });
    expect(unseen.status).toBe(200);
    // A token this server has verified stays valid (verified tokens are cached until they expire).
    expect((await t.call('GET', '/v1/identities?limit=1', { token: before })).status).toBe(200);
    const minted = await adminSession(t);
    expect((await t.call('GET', '/v1/identities?limit=1', { token: minted })).status).toBe(200);
    expect(
      (
        await t.call('POST', '/v1/identities', {
          token: minted,
          body: { name: 'clock/back', kind: 'service', owner: 'a' },
        })
      ).status,
    ).toBe(201);

    t.clock.advance(3600 + 2 * 86_400); // two days forward: past every session's TTL
    const expired = await t.call('GET', '/v1/identities?limit=1', { token: minted });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('TESSERA_TOKEN_EXPIRED');
    const fresh = await adminSession(t);
    expect(
      (
        await t.call('POST', '/v1/identities', {
          token: fresh,
          body: { name: 'clock/fwd', kind: 'service', owner: 'a' },
        })
      ).status,
    ).toBe(201);
    // The chain is ordered by sequence, not time: it verifies across both jumps.
    const report = await t.tessera.ledger.verify();
    expect(report.problem).toBeNull();
    expect(report.ok).toBe(true);
  });
});

describe('an audit sink that stalls', () => {
  let node: Node | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-stall-'));
  const held: ServerResponse[] = [];
  let stalled = false;
  const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.on('data', () => {});
    req.on('end', () => {
      if (stalled) held.push(res);
      else res.writeHead(200).end();
    });
  });
  afterAll(async () => {
    for (const r of held) r.destroy();
    await node?.stop();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails closed within its timeout (503 TESSERA_AUDIT_UNAVAILABLE + Retry-After, no hang) and resumes', async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    // A server process (not this one, whose event loop runs the receiver). The timeout is generous
    // because a loaded machine's start-up can hold the server's event loop for seconds.
    node = await startNode('stall', join(dir, 'data'), {
      TESSERA_AUDIT_FILE: 'off',
      TESSERA_AUDIT_WEBHOOK_URL: `http://127.0.0.1:${port}/audit`,
      TESSERA_AUDIT_WEBHOOK_TIMEOUT_MS: '8000',
      TESSERA_AUDIT_SINK_RETRY_MS: '20',
      TESSERA_AUDIT_SINK_RETRY_MAX_MS: '100',
    });
    const n = node;
    const admin = JSON.parse(readFileSync(join(dir, 'data', 'admin.json'), 'utf8'));
    const token = (await call(n.url, 'POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }))
      .body.token;
    const create = (name: string) =>
      call(n.url, 'POST', '/v1/identities', { token, body: { name, kind: 'service', owner: 'a' } });
    expect((await create('stall/before')).status).toBe(201);
    stalled = true;
    expect((await create('stall/trigger')).status).toBe(201); // committed; its copy stalls
    const failedMs = await until(30_000, async () => (await call(n.url, 'GET', '/readyz')).status === 503);
    const started = performance.now();
    const refused = await create('stall/refused');
    expect(performance.now() - started).toBeLessThan(3000);
    expect(retryable(refused)).toBe(true);
    expect(refused.body.error.code).toBe('TESSERA_AUDIT_UNAVAILABLE');
    console.log(`stalled sink: /readyz 503 after ${Math.round(failedMs)} ms`);

    stalled = false;
    for (const r of held.splice(0)) r.writeHead(200).end();
    await until(10_000, async () => (await call(n.url, 'GET', '/readyz')).status === 200);
    expect((await create('stall/after')).status).toBe(201);
  }, 60_000);
});

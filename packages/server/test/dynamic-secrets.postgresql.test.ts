import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startServerPair, startTestServer, type TestServer } from './harness.js';

/**
 * Issue 6: PostgreSQL dynamic secrets against the real PostgreSQL on the machine — what only this
 * producer is tested for (10,000 leases, lease edges, two servers). The lease behaviour common to
 * every producer is in dynamic-secrets.leases.test.ts (fixtures: producer-fixtures.ts).
 */
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const tag = `t${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const targetDb = `tessera_target_${tag}`;

async function adminQuery(text: string, values: unknown[] = [], database = targetDb) {
  const c = new pg.Client({ ...PG, database });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}
const roleExists = async (name: string) =>
  (await adminQuery('select 1 from pg_roles where rolname = $1', [name])).rowCount === 1;

beforeAll(async () => {
  await adminQuery(`create database ${targetDb}`, [], 'postgres');
});
afterAll(async () => {
  const left = await adminQuery('select rolname from pg_roles where rolname like $1', [`tsr_${tag}%`]);
  for (const r of left.rows)
    await adminQuery(`drop owned by "${r.rolname}"; drop role "${r.rolname}"`).catch(() => {});
  await adminQuery(`drop database if exists ${targetDb} with (force)`, [], 'postgres');
});

describe.each(STORES)('PostgreSQL dynamic secrets at scale, store on %s', (store) => {
  let s: TestServer;
  const prefix = `tsr_${tag}_${store.slice(0, 2)}_`;
  const name = `/prod/db/${store}`;

  beforeAll(async () => {
    s = await startTestServer(store);
    const created = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: {
        name,
        type: 'postgresql',
        settings: {
          host: PG.host,
          port: PG.port,
          database: targetDb,
          adminUsername: 'postgres',
          adminPassword: 'unused-trust',
          usernamePrefix: prefix,
        },
        defaultTtlSeconds: 600,
        maxTtlSeconds: 3600,
        leaseQuota: 3,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain('unused-trust');
    expect(created.body.settings.adminPassword).toBeUndefined();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a lease’s role expires on the target at the lease’s maximum expiry (VALID UNTIL)', async () => {
    const res = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    s.track(res.body.password);
    const { rows } = await adminQuery('select rolvaliduntil from pg_authid where rolname = $1', [
      res.body.username,
    ]);
    expect(rows[0].rolvaliduntil).toBeInstanceOf(Date);
    expect(rows[0].rolvaliduntil.toISOString()).toBe(res.body.maxExpiresAt);
    expect(
      (
        await s.call('POST', '/v1/leases/revoke', {
          token: s.adminToken,
          body: { leaseId: res.body.leaseId },
        })
      ).status,
    ).toBe(200);
  });

  it('10,000 leases expiring together: all revoked, no errors, the server stays responsive', async () => {
    const n = 10_000;
    const item = (await s.tessera.uow.read((r) => r.dynamic.getItem(name)))!;
    const now = s.clock.nowMs();
    const names = Array.from({ length: n }, (_, i) => `${prefix}bulk_${i}`);
    // The accounts, made in bulk (issuing 10,000 through the API is the bench's job).
    await adminQuery(
      `do $$ begin for i in 0..${n - 1} loop execute format('create role %I login', '${prefix}bulk_' || i); end loop; end $$`,
    );
    for (let i = 0; i < n; i += 1000) {
      await s.tessera.uow.write(async (r) => {
        for (const [j, username] of names.slice(i, i + 1000).entries())
          await r.dynamic.insertLease({
            id: `l-bulk${store}${i + j}`,
            itemId: item.id,
            itemName: item.name,
            identityId: 'i-bulk',
            username,
            state: 'active',
            createdAtMs: now,
            expiresAtMs: now + 60_000,
            maxExpiresAtMs: now + 60_000,
            nextAttemptAtMs: now + 60_000,
            attempts: 0,
            lastError: null,
            revokedAtMs: null,
          });
      });
    }
    s.clock.advance(61);
    const started = performance.now();
    let probes = 0;
    let worstProbeMs = 0;
    const reaping = s.tessera.reapLeases();
    let done = false;
    void reaping.finally(() => {
      done = true;
    });
    while (!done) {
      const t = performance.now();
      const h = await s.call('GET', '/healthz');
      worstProbeMs = Math.max(worstProbeMs, performance.now() - t);
      expect(h.status).toBe(200);
      probes++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const report = await reaping;
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `[${store}] revoked ${report.revoked} leases in ${seconds.toFixed(2)} s (${Math.round(report.revoked / seconds)}/s); ${probes} health probes, worst ${worstProbeMs.toFixed(1)} ms`,
    );
    expect(report.revoked).toBe(n);
    expect(report.failed + report.retrying).toBe(0);
    const left = (
      await adminQuery('select count(*)::int as n from pg_roles where rolname like $1', [`${prefix}bulk_%`])
    ).rows[0].n;
    expect(left).toBe(0);
    expect(worstProbeMs).toBeLessThan(1000);
  }, 120_000);
});

describe.each(STORES)('lease lifecycle edges, store on %s', (store) => {
  let s: TestServer;
  const prefix = `tsr_${tag}_e${store.slice(0, 1)}_`;
  const name = `/edge/db/${store}`;
  const settings = {
    host: PG.host,
    port: PG.port,
    database: targetDb,
    adminUsername: 'postgres',
    usernamePrefix: prefix,
  };

  beforeAll(async () => {
    s = await startTestServer(store);
    const created = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: { name, type: 'postgresql', settings, defaultTtlSeconds: 600, maxTtlSeconds: 3600 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A non-admin identity with the given capabilities on `item:/edge/*`. */
  async function caller(label: string, capabilities: string[]) {
    const m = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: `/ci/${label}-${store}` },
    });
    const role = `edge-${label}-${store}`;
    await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } });
    const rule = await s.call('POST', `/v1/roles/${encodeURIComponent(role)}/rules`, {
      token: s.adminToken,
      body: { ruleType: 'item', path: '/edge/db/*', capabilities },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBeLessThan(300);
    const assoc = await s.call('POST', `/v1/roles/${encodeURIComponent(role)}/associations`, {
      token: s.adminToken,
      body: { authMethodName: `/ci/${label}-${store}` },
    });
    expect(assoc.status, JSON.stringify(assoc.body)).toBeLessThan(300);
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    expect(auth.status).toBe(200);
    return { token: auth.body.token as string, identityId: m.body.authMethod.identityId as string };
  }

  it('a reader takes credentials and revokes its own lease, but not another identity’s', async () => {
    const a = await caller('reader-a', ['read']);
    const b = await caller('reader-b', ['read']);
    const leaseA = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: a.token,
      body: { name },
    });
    expect(leaseA.status, JSON.stringify(leaseA.body)).toBe(201);
    s.track(leaseA.body.password);
    const stolen = await s.call('POST', '/v1/leases/revoke', {
      token: b.token,
      body: { leaseId: leaseA.body.leaseId },
    });
    expect(stolen.status).toBe(403);
    expect(await roleExists(leaseA.body.username)).toBe(true);
    const own = await s.call('POST', '/v1/leases/revoke', {
      token: a.token,
      body: { leaseId: leaseA.body.leaseId },
    });
    expect(own.status).toBe(200);
    expect(await roleExists(leaseA.body.username)).toBe(false);
  });

  it('retiring an identity revokes its leases at once', async () => {
    const c = await caller('retiree', ['read']);
    const lease = await s.call('POST', '/v1/dynamic-secrets/credentials', { token: c.token, body: { name } });
    s.track(lease.body.password);
    expect(await roleExists(lease.body.username)).toBe(true);
    const retired = await s.call('POST', `/v1/identities/${c.identityId}/retire`, { token: s.adminToken });
    expect(retired.status, JSON.stringify(retired.body)).toBe(200);
    await s.tessera.reapLeases(); // joins the pass the retirement started
    expect(await roleExists(lease.body.username)).toBe(false);
    const got = await s.tessera.services.leases.getLease(lease.body.leaseId);
    expect(got.state).toBe('revoked');
  });

  it('a refused creation leaves a failed lease and no account; a crash trace is reaped after the grace', async () => {
    const broken = `${name}-broken`;
    await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: {
        name: broken,
        type: 'postgresql',
        settings: {
          ...settings,
          creationStatements: ['CREATE ROLE "{{name}}" LOGIN', 'SELECT tessera_no_such_fn()'],
        },
      },
    });
    const refused = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name: broken },
    });
    expect(refused.status).toBe(502);
    expect(refused.body.error.code).toBe('TESSERA_PRODUCER_FAILED');
    expect(JSON.stringify(refused.body)).not.toContain('tessera_no_such_fn');
    const failed = await s.call('GET', `/v1/leases?name=${encodeURIComponent(broken)}&state=failed`, {
      token: s.adminToken,
    });
    expect(failed.body.items).toHaveLength(1);
    expect(await roleExists(failed.body.items[0].username)).toBe(false);

    // A crash between "creating" and "active": the row names the account; the reaper drops it.
    const item = (await s.tessera.uow.read((r) => r.dynamic.getItem(name)))!;
    const ghost = `${prefix}ghost`;
    await adminQuery(`create role "${ghost}" login`);
    const now = s.clock.nowMs();
    await s.tessera.uow.write((r) =>
      r.dynamic.insertLease({
        id: `l-ghost${store}`,
        itemId: item.id,
        itemName: item.name,
        identityId: 'i-x',
        username: ghost,
        state: 'creating',
        createdAtMs: now,
        expiresAtMs: now + 600_000,
        maxExpiresAtMs: now + 3_600_000,
        nextAttemptAtMs: now + 300_000,
        attempts: 0,
        lastError: null,
        revokedAtMs: null,
      }),
    );
    await s.tessera.reapLeases();
    expect(await roleExists(ghost)).toBe(true);
    s.clock.advance(301);
    await s.tessera.reapLeases();
    expect(await roleExists(ghost)).toBe(false);
  });

  it('deleting an item with live leases is refused, or revokes them first when asked', async () => {
    s.adminToken = await adminSession(s);
    const lease = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name },
    });
    s.track(lease.body.password);
    const refused = await s.call('DELETE', `/v1/dynamic-secrets?name=${encodeURIComponent(name)}`, {
      token: s.adminToken,
    });
    expect(refused.status).toBe(409);
    const deleted = await s.call(
      'DELETE',
      `/v1/dynamic-secrets?name=${encodeURIComponent(name)}&revokeLeases=true`,
      {
        token: s.adminToken,
      },
    );
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(await roleExists(lease.body.username)).toBe(false);
  });
});

describe.runIf(STORES.includes('postgres'))('two servers on one PostgreSQL store reap together', () => {
  it('each expired lease is claimed and revoked by exactly one server', async () => {
    const pair = await startServerPair();
    const { a, b } = pair;
    try {
      const prefix = `tsr_${tag}_m_`;
      const name = '/multi/db';
      const created = await a.call('POST', '/v1/dynamic-secrets', {
        token: a.adminToken,
        body: {
          name,
          type: 'postgresql',
          settings: {
            host: PG.host,
            port: PG.port,
            database: targetDb,
            adminUsername: 'postgres',
            usernamePrefix: prefix,
          },
        },
      });
      expect(created.status).toBe(201);
      const n = 3000;
      await adminQuery(
        `do $$ begin for i in 0..${n - 1} loop execute format('create role %I login', '${prefix}' || i); end loop; end $$`,
      );
      const item = (await a.tessera.uow.read((r) => r.dynamic.getItem(name)))!;
      const now = a.clock.nowMs();
      await a.tessera.uow.write(async (r) => {
        for (let i = 0; i < n; i++)
          await r.dynamic.insertLease({
            id: `l-multi${i}`,
            itemId: item.id,
            itemName: name,
            identityId: 'i-multi',
            username: `${prefix}${i}`,
            state: 'active',
            createdAtMs: now,
            expiresAtMs: now + 1000,
            maxExpiresAtMs: now + 1000,
            nextAttemptAtMs: now + 1000,
            attempts: 0,
            lastError: null,
            revokedAtMs: null,
          });
      });
      a.clock.advance(2);
      b.clock.advance(2);
      const [ra, rb] = await Promise.all([a.tessera.reapLeases(), b.tessera.reapLeases()]);
      expect(ra.revoked + rb.revoked).toBe(n);
      expect(ra.failed + rb.failed + ra.retrying + rb.retrying).toBe(0);
      expect(ra.revoked).toBeGreaterThan(0);
      expect(rb.revoked).toBeGreaterThan(0);
      const rows = await a.tessera.store.db
        .selectFrom('leases')
        .select(['state', 'attempts'])
        .where('item_id', '=', item.id)
        .execute();
      expect(rows.every((r) => r.state === 'revoked' && Number(r.attempts) === 1)).toBe(true);
      const events = await a.tessera.store.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('type', '=', 'lease.revoked')
        .executeTakeFirst();
      expect(Number(events?.n)).toBe(n);
      expect(
        (await adminQuery('select count(*)::int as n from pg_roles where rolname like $1', [`${prefix}%`]))
          .rows[0].n,
      ).toBe(0);
    } finally {
      await pair.close();
    }
  }, 60_000);
});

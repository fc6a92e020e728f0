import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer } from './harness.js';
import { leaseSuiteCases } from './producer-fixtures.js';

/**
 * Issue 6: the lease behaviour through the service, against each producer's real target (PostgreSQL,
 * MariaDB, Redis on the machine): the credential works; revoke drops it and ends a session opened
 * before; the reaper removes an expired one; the sweep finds an account made behind Tessera's back;
 * quotas answer 429; no `read` gives 403 and no account. PostgreSQL-only cases (10,000 leases, lease
 * edges, two servers) stay in dynamic-secrets.postgresql.test.ts.
 */
const tag = `t${process.pid}${Math.random().toString(36).slice(2, 6)}`;

describe.each(leaseSuiteCases(STORES))('%s dynamic secrets, store on %s', (type, store, target) => {
  let s: TestServer;
  const prefix = `tsr_${tag}_${type.slice(0, 2)}${store.slice(0, 2)}_`;
  const name = `/prod/db/${type}-${store}`;
  const settings = () => target.settings(prefix);

  beforeAll(async () => {
    await target.setUp(`${tag}_${store}`);
    s = await startTestServer(store);
    const created = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: { name, type, settings: settings(), defaultTtlSeconds: 600, maxTtlSeconds: 3600, leaseQuota: 3 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const adminPassword = String(settings().adminPassword ?? '');
    if (adminPassword) expect(JSON.stringify(created.body)).not.toContain(adminPassword);
    expect(created.body.settings.adminPassword).toBeUndefined();
  });
  afterAll(async () => {
    await s?.close();
    await target.tearDown(prefix);
  });

  const issue = async (token = s.adminToken, body: Record<string, unknown> = { name }) =>
    s.call('POST', '/v1/dynamic-secrets/credentials', { token, body });
  const revoke = (leaseId: string) =>
    s.call('POST', '/v1/leases/revoke', { token: s.adminToken, body: { leaseId } });

  it('issues a working credential; revoke drops it and terminates its open session', async () => {
    const res = await issue();
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { leaseId, username, password } = res.body;
    expect(leaseId).toMatch(/^l-/);
    expect(username.startsWith(prefix)).toBe(true);
    expect(username.length).toBeLessThanOrEqual(target.maxNameLength);
    expect(password).toMatch(/^[A-Za-z0-9]{32,}$/);
    s.track(password);
    const session = await target.connect(username, password);
    await session.probe();
    // A wrong password is refused (the local PostgreSQL trusts 127.0.0.1: only MariaDB and Redis check).
    if (type !== 'postgresql') await expect(target.connect(username, `${password}x`)).rejects.toThrow();

    const revoked = await revoke(leaseId);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body.lease.state).toBe('revoked');
    expect(revoked.body.sessionsTerminated).toBe(1);
    await expect(session.probe()).rejects.toThrow();
    await session.close();
    expect(await target.accountExists(username)).toBe(false);
    await expect(target.connect(username, password)).rejects.toThrow();
  });

  it('quota: the fourth live lease is refused with 429 TESSERA_LEASE_QUOTA', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await issue();
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      s.track(r.body.password);
      ids.push(r.body.leaseId);
    }
    const before = await target.countAccounts(prefix);
    const refused = await issue();
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TESSERA_LEASE_QUOTA');
    expect(await target.countAccounts(prefix)).toBe(before);
    for (const leaseId of ids) expect((await revoke(leaseId)).status).toBe(200);
    expect(await target.countAccounts(prefix)).toBe(before - 3);
  });

  it('an identity without read on the item gets 403 and no account is created', async () => {
    const m = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: `/ci/noread-${type}-${store}` },
    });
    expect(m.status).toBe(201);
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    const before = await target.countAccounts(prefix);
    const r = await issue(auth.body.token);
    expect(r.status).toBe(403);
    expect(await target.countAccounts(prefix)).toBe(before);
  });

  it('the reaper removes an expired lease; renew is bounded by the maximum', async () => {
    const r = await issue(s.adminToken, { name, ttlSeconds: 60 });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    s.track(r.body.password);
    const renewed = await s.call('POST', '/v1/leases/renew', {
      token: s.adminToken,
      body: { leaseId: r.body.leaseId, incrementSeconds: 86_400 },
    });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    expect(renewed.body.expiresAt).toBe(r.body.maxExpiresAt);
    s.clock.advance(3601);
    expect(await target.accountExists(r.body.username)).toBe(true);
    const report = await s.tessera.reapLeases();
    expect(report.revoked).toBeGreaterThanOrEqual(1);
    expect(await target.accountExists(r.body.username)).toBe(false);
    await expect(target.connect(r.body.username, r.body.password)).rejects.toThrow();
    s.adminToken = await adminSession(s);
    const listed = await s.call('GET', `/v1/leases?name=${encodeURIComponent(name)}&state=revoked`, {
      token: s.adminToken,
    });
    expect(listed.body.items.some((l: { leaseId: string }) => l.leaseId === r.body.leaseId)).toBe(true);
  });

  it('the sweep finds (and drops) an account created behind Tessera’s back', async () => {
    const rogue = `${prefix}rogue`;
    await target.createRogue(rogue);
    const live = await issue();
    expect(live.status, JSON.stringify(live.body)).toBe(201);
    s.track(live.body.password);
    const report = await s.call('POST', '/v1/dynamic-secrets/sweep', { token: s.adminToken, body: { name } });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.orphans).toEqual([rogue]);
    expect(report.body.dropped).toEqual([]);
    expect(await target.accountExists(rogue)).toBe(true);
    const dropped = await s.call('POST', '/v1/dynamic-secrets/sweep', {
      token: s.adminToken,
      body: { name, drop: true },
    });
    expect(dropped.body.dropped).toEqual([rogue]);
    expect(await target.accountExists(rogue)).toBe(false);
    expect(await target.accountExists(live.body.username)).toBe(true);
    expect((await revoke(live.body.leaseId)).status).toBe(200);
  });
});

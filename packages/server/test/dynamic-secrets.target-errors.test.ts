import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';
import { type LeastPrivilegeTarget, mysqlTarget, pgTarget, redisTarget } from './least-privilege-targets.js';

/**
 * Issue 10, item 5: a target's refusal answers a 4xx (at creation) or 502 (when used) with a stable
 * code, a stable `details.reason` and a useful, safe message — never 500, never the admin password.
 * (The local PostgreSQL trusts 127.0.0.1, so its "wrong credential" case is an unknown admin role.)
 */
const tag = `${process.pid}${Math.random().toString(36).slice(2, 6)}`;

describe.each([
  ['postgresql', pgTarget(`e${tag}`)],
  ['mysql', mysqlTarget(`e${tag}`)],
  ['redis', redisTarget(`e${tag}`)],
] as Array<[string, LeastPrivilegeTarget]>)('%s target errors', (type, target) => {
  let s: TestServer;
  let n = 0;
  const create = (settings: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: { name: `/errors/${type}/${++n}`, type, settings, ...extra },
    });
  const expectNoSecret = (body: unknown, settings: Record<string, unknown>) => {
    const text = JSON.stringify(body);
    if (settings.adminPassword) expect(text).not.toContain(String(settings.adminPassword));
    expect(text).not.toContain('TESSERA_INTERNAL');
  };

  beforeAll(async () => {
    await target.setUp();
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s?.close();
    await target.tearDown();
  });

  it('a wrong administrator credential: 422 TESSERA_TARGET_REJECTED, authentication_failed', async () => {
    const settings =
      type === 'postgresql'
        ? target.settings({ adminUsername: `tsr_nobody_${tag}` })
        : target.settings({ adminPassword: `wrong-admin-password-${tag}` });
    const res = await create(settings);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe('TESSERA_TARGET_REJECTED');
    expect(res.body.error.details.reason).toBe('authentication_failed');
    expect(res.body.error.message).toMatch(/authentication failed/);
    expectNoSecret(res.body, settings);
  });

  it('an unreachable port: 422 at creation, 502 when used (checks skipped)', async () => {
    const settings = target.settings({ port: 1 });
    const res = await create(settings);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.details.reason).toBe('unreachable');
    expect(res.body.error.message).toMatch(/unreachable/);
    expectNoSecret(res.body, settings);

    const unchecked = await create(settings, { check: false });
    expect(unchecked.status, JSON.stringify(unchecked.body)).toBe(201);
    const issued = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name: unchecked.body.name },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(502);
    expect(issued.body.error.code).toBe('TESSERA_PRODUCER_FAILED');
    expect(issued.body.error.details.reason).toBe('unreachable');
    expectNoSecret(issued.body, settings);
  });

  it('a target that accepts connections but never answers: 422 timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const settings = target.settings({ port, options: { connectTimeoutMs: 300 } });
      const res = await create(settings);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.details.reason).toBe('timeout');
      expect(res.body.error.message).toMatch(/did not answer in time/);
      expectNoSecret(res.body, settings);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('a missing privilege: 502 permission_denied naming what was refused when a credential is asked for', async () => {
    const settings = target.unprivilegedSettings();
    const created = await create(settings);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const issued = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: s.adminToken,
      body: { name: created.body.name },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(502);
    expect(issued.body.error.code).toBe('TESSERA_PRODUCER_FAILED');
    expect(issued.body.error.details.reason).toBe('permission_denied');
    expect(issued.body.error.message).toMatch(/permission denied: .+/);
    expectNoSecret(issued.body, settings);
  });

  it.runIf(type !== 'redis')('a database that does not exist: 422 database_not_found', async () => {
    // MariaDB tells only an administrator with rights on every database that one is missing (root
    // here); a narrower one hears "access denied" (permission_denied), and so does the caller.
    const root = type === 'mysql' ? { adminUsername: 'root', adminPassword: '' } : {};
    const settings = target.settings({ database: `tessera_no_db_${tag}`, ...root });
    const res = await create(settings);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.details.reason).toBe('database_not_found');
    expect(res.body.error.message).toMatch(/database does not exist/);
    expectNoSecret(res.body, settings);
  });

  it('a rotated secret whose administrator lacks a privilege: 422 permission_denied', async () => {
    const settings = target.unprivilegedSettings();
    const res = await s.call('POST', '/v1/rotated-secrets', {
      token: s.adminToken,
      body: {
        name: `/errors/${type}/rotated-weak`,
        type,
        host: settings.host,
        port: settings.port,
        ...(settings.database ? { database: settings.database } : {}),
        adminUsername: settings.adminUsername,
        adminPassword: settings.adminPassword,
        usernames: [`tsr_lp_e${tag}_wa`, `tsr_lp_e${tag}_wb`],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.details.reason).toBe('permission_denied');
    expectNoSecret(res.body, settings);
  });

  it.runIf(type !== 'postgresql')('a rotated secret with a wrong admin password: 422, not 500', async () => {
    const settings = target.settings({ adminPassword: `wrong-admin-password-${tag}` });
    const res = await s.call('POST', '/v1/rotated-secrets', {
      token: s.adminToken,
      body: {
        name: `/errors/${type}/rotated`,
        type,
        host: settings.host,
        port: settings.port,
        ...(settings.database ? { database: settings.database } : {}),
        adminUsername: settings.adminUsername,
        adminPassword: settings.adminPassword,
        usernames: [`tsr_lp_e${tag}_ra`, `tsr_lp_e${tag}_rb`],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe('TESSERA_TARGET_REJECTED');
    expect(res.body.error.details.reason).toBe('authentication_failed');
    expectNoSecret(res.body, settings);
  });
});

import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, startTestServer, type TestServer } from './harness.js';

/**
 * Issue 10, item 6: rotated secrets can be listed, updated and deleted (they used to rotate forever),
 * and `list-items` (GET /v1/secrets) shows dynamic and rotated items with their type. On the
 * machine's Redis (ACL users; the default user is the administrator).
 */
const REDIS = {
  host: process.env.TESSERA_TEST_REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.TESSERA_TEST_REDIS_PORT ?? 6379),
};
const tag = `tsr_rl${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const usernames = [`${tag}_a`, `${tag}_b`];

async function canLogIn(username: string, password: string): Promise<boolean> {
  const c = createClient({ socket: { ...REDIS, reconnectStrategy: false }, username, password });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.sendCommand(['PING']);
    return true;
  } catch {
    return false;
  } finally {
    if (c.isOpen) c.destroy();
  }
}

describe('rotated secret lifecycle and item listings', () => {
  let s: TestServer;
  const name = '/rl/cache';
  const api = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    const created = await api('POST', '/v1/rotated-secrets', {
      name,
      type: 'redis',
      host: REDIS.host,
      port: REDIS.port,
      adminUsername: 'default',
      adminPassword: '',
      creationStatements: [`~${tag}:* +ping`],
      usernames,
      intervalSeconds: 3600,
      graceSeconds: 60,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await api('POST', '/v1/secrets', { name: '/rl/static', value: 'x' })).status).toBe(201);
    const dynamic = await api('POST', '/v1/dynamic-secrets', {
      name: '/rl/dynamic',
      type: 'redis',
      settings: { host: REDIS.host, port: REDIS.port, adminUsername: 'default', usernamePrefix: `${tag}_d` },
    });
    expect(dynamic.status, JSON.stringify(dynamic.body)).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
    const c = createClient({ socket: { ...REDIS, reconnectStrategy: false } });
    await c.connect();
    for (const u of usernames) await c.sendCommand(['ACL', 'DELUSER', u]);
    c.destroy();
  });

  it('list-items shows static, dynamic and rotated items with their type, in name order', async () => {
    const listed = await api('GET', '/v1/secrets?prefix=/rl');
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.items.map((i: { name: string; type: string }) => [i.name, i.type])).toEqual([
      ['/rl/cache', 'rotated'],
      ['/rl/dynamic', 'dynamic'],
      ['/rl/static', 'static'],
    ]);
    // Paged one by one, the cursor walks across the kinds.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ name: string }>; nextCursor: string | null } } = await api(
        'GET',
        `/v1/secrets?prefix=/rl&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.body.items.map((i) => i.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['/rl/cache', '/rl/dynamic', '/rl/static']);
    // A folder holding only a dynamic or rotated item is a folder too.
    const only = await api('POST', '/v1/dynamic-secrets', {
      name: '/rlx/only-dynamic',
      type: 'redis',
      settings: { host: REDIS.host, port: REDIS.port },
      check: false,
    });
    expect(only.status, JSON.stringify(only.body)).toBe(201);
    const root = await api('GET', '/v1/secrets?prefix=/&recursive=false');
    expect(root.body.folders).toEqual(expect.arrayContaining(['/rl', '/rlx']));
    expect(root.body.items.map((i: { name: string }) => i.name)).not.toContain('/rl/cache');
  });

  it('names stay unique across the kinds', async () => {
    const clash = await api('POST', '/v1/dynamic-secrets', {
      name,
      type: 'redis',
      settings: { host: REDIS.host, port: REDIS.port },
      check: false,
    });
    expect(clash.status).toBe(409);
  });

  it('lists rotated secrets; only with list permission', async () => {
    const listed = await api('GET', '/v1/rotated-secrets?prefix=/rl');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((i: { name: string }) => i.name)).toEqual([name]);
    expect(JSON.stringify(listed.body)).not.toMatch(/password/i);

    const m = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: '/ci/rl-nobody' },
    });
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    const nobody = auth.body.token as string;
    expect((await s.call('GET', '/v1/rotated-secrets', { token: nobody })).body.items).toEqual([]);
    const patch = await s.call('PATCH', '/v1/rotated-secrets', {
      token: nobody,
      body: { name, graceSeconds: 5 },
    });
    expect(patch.status).toBe(403);
    expect((await s.call('DELETE', `/v1/rotated-secrets?name=${name}`, { token: nobody })).status).toBe(403);
  });

  it('updates the schedule (validated) and checks a new administrator credential first', async () => {
    const before = (await api('GET', `/v1/rotated-secrets/describe?name=${name}`)).body;
    const bad = await api('PATCH', '/v1/rotated-secrets', { name, intervalSeconds: 120, graceSeconds: 300 });
    expect(bad.status).toBe(400);
    const updated = await api('PATCH', '/v1/rotated-secrets', {
      name,
      intervalSeconds: 120,
      graceSeconds: 30,
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.intervalSeconds).toBe(120);
    expect(updated.body.graceSeconds).toBe(30);
    expect(Date.parse(updated.body.nextRotationAt)).toBe(Date.parse(before.rotatedAt) + 120_000);

    const refused = await api('PATCH', '/v1/rotated-secrets', {
      name,
      adminUsername: `${tag}_nobody`,
      adminPassword: 'not-the-admin-password',
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.details.reason).toBe('authentication_failed');
    expect(JSON.stringify(refused.body)).not.toContain('not-the-admin-password');

    const onDemand = await api('PATCH', '/v1/rotated-secrets', { name, intervalSeconds: null });
    expect(onDemand.status).toBe(200);
    expect(onDemand.body.nextRotationAt).toBeNull();
    expect((await api('PATCH', '/v1/rotated-secrets', { name: '/rl/nope', graceSeconds: 1 })).status).toBe(
      404,
    );
  });

  it('deleting stops the rotation for good and leaves the account as it was', async () => {
    expect((await api('PATCH', '/v1/rotated-secrets', { name, intervalSeconds: 120 })).status).toBe(200);
    const value = await api('GET', `/v1/rotated-secrets/value?name=${name}`);
    expect(value.status).toBe(200);
    s.track(value.body.password);
    expect(await canLogIn(value.body.username, value.body.password)).toBe(true);

    const deleted = await api('DELETE', `/v1/rotated-secrets?name=${name}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect((await api('GET', `/v1/rotated-secrets/value?name=${name}`)).status).toBe(404);
    expect((await api('GET', `/v1/rotated-secrets?prefix=/rl`)).body.items).toEqual([]);

    // Far past the schedule, rotation and retirement steps included: nothing changes the accounts.
    for (let i = 0; i < 4; i++) {
      s.clock.advance(3600);
      await s.tessera.services.rotation.runDue();
    }
    expect(await canLogIn(value.body.username, value.body.password)).toBe(true);
    s.adminToken = await adminSession(s);
    const events = await api('GET', '/v1/audit/events?type=rotated_secret.deleted');
    expect(events.body.items.some((e: { resource: string }) => e.resource === name)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminSession,
  type ServerPair,
  STORES,
  startServerPair,
  startTestServer,
  type TestServer,
  uidAuth,
  uidSetup,
} from './harness.js';

/** Roles, rules, inclusion and claim-narrowed associations over HTTP, on both stores (ADR 0008). */
describe.each(STORES)('roles on %s', (store) => {
  let s: TestServer;
  let admin: string;
  let seq = 0;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    s = await startTestServer(store);
    admin = s.adminToken;
    for (const name of ['demo/x', 'demo/secret-1', 'prod/y']) {
      const r = await s.call('POST', '/v1/identities', {
        token: admin,
        body: { name, kind: 'service', owner: 'alice@example.com' },
      });
      expect(r.status).toBe(201);
      ids.set(name, r.body.id);
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  const call = (method: string, url: string, body?: unknown, token = admin, remoteAddress?: string) =>
    s.call(method, url, {
      token,
      ...(body !== undefined ? { body } : {}),
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  /** A role associated with a fresh access-key method, and a way to sign in as it. */
  async function principal(rules: unknown[] = [], extra: Record<string, unknown> = {}) {
    const n = ++seq;
    const role = `role-${n}`;
    expect((await call('POST', '/v1/roles', { name: role })).status).toBe(201);
    for (const rule of rules) expect((await call('POST', `/v1/roles/${role}/rules`, rule)).status).toBe(200);
    const m = await call('POST', '/v1/auth-methods', { type: 'access_key', name: `/keys/p${n}`, ...extra });
    expect(m.status).toBe(201);
    const assoc = await call('POST', `/v1/roles/${role}/associations`, { authMethodName: `/keys/p${n}` });
    expect(assoc.status).toBe(201);
    const login = async () => {
      const a = await s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
      });
      expect(a.status).toBe(200);
      return a.body.token as string;
    };
    return {
      role,
      methodId: m.body.authMethod.id as string,
      assocId: assoc.body.id as string,
      login,
      token: await login(),
    };
  }
  const readIdentity = async (name: string, token: string, remoteAddress?: string) =>
    (await call('GET', `/v1/identities/${ids.get(name)}`, undefined, token, remoteAddress)).status;

  it('the administrator is the built-in role, associated with the bootstrap method', async () => {
    const r = await call('GET', '/v1/roles/tessera-admin');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'tessera-admin', builtin: true, includes: [] });
    expect(r.body.rules).toEqual([
      expect.objectContaining({ id: 'builtin:admin', ruleType: '*', path: '*', expiresAt: null }),
    ]);
    expect(r.body.rules[0].capabilities).toEqual(['read', 'list', 'create', 'update', 'delete']);
    expect(r.body.associations).toEqual([
      expect.objectContaining({ authMethodId: s.adminAccessId, authMethodName: 'tessera-admin', claims: {} }),
    ]);
    const list = await call('GET', '/v1/roles');
    expect(list.body.items.find((x: { name: string }) => x.name === 'tessera-admin')).toMatchObject({
      builtin: true,
      ruleCount: 1,
      associationCount: 1,
    });
  });

  it('refuses to change or delete the built-in role', async () => {
    const rule = { ruleType: 'item', path: '/x', capabilities: ['deny'] };
    for (const [method, url, body] of [
      ['POST', '/v1/roles/tessera-admin/rules', rule],
      ['DELETE', '/v1/roles/tessera-admin/rules?ruleType=*&path=*', undefined],
      ['DELETE', '/v1/roles/tessera-admin', undefined],
      ['POST', '/v1/roles/tessera-admin/includes', { role: 'tessera-admin' }],
    ] as const) {
      const r = await call(method, url, body);
      expect(r.status, `${method} ${url}`).toBe(409);
      expect(r.body.error.code).toBe('TESSERA_ROLE_BUILTIN');
    }
    expect((await call('GET', '/v1/roles/tessera-admin')).body.rules).toHaveLength(1);
  });

  it('never lets the last association granting admin go', async () => {
    const adminRole = (await call('GET', '/v1/roles/tessera-admin')).body;
    const bootstrap = adminRole.associations[0].id;
    let r = await call('DELETE', `/v1/role-associations/${bootstrap}`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('TESSERA_LAST_ADMIN');
    // Move it: associate another method, then the bootstrap one may go.
    const other = await call('POST', '/v1/auth-methods', { type: 'access_key', name: '/keys/second-admin' });
    const second = await call('POST', '/v1/roles/tessera-admin/associations', {
      authMethodId: other.body.authMethod.id,
    });
    expect(second.status).toBe(201);
    expect((await call('DELETE', `/v1/role-associations/${bootstrap}`)).status).toBe(204);
    // The bootstrap session lost admin at once (the policy cache was dropped).
    r = await call('GET', '/v1/roles');
    expect(r.status).toBe(403);
    const otherToken = (
      await s.call('POST', '/v1/auth', {
        body: {
          accessType: 'access_key',
          accessId: other.body.authMethod.id,
          accessKey: other.body.accessKey,
        },
      })
    ).body.token;
    r = await call('DELETE', `/v1/role-associations/${second.body.id}`, undefined, otherToken);
    expect(r.body.error?.code).toBe('TESSERA_LAST_ADMIN');
    r = await call('DELETE', `/v1/auth-methods/${other.body.authMethod.id}`, undefined, otherToken);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('TESSERA_LAST_ADMIN');
    // Put the bootstrap administrator back.
    r = await call(
      'POST',
      '/v1/roles/tessera-admin/associations',
      { authMethodId: s.adminAccessId },
      otherToken,
    );
    expect(r.status).toBe(201);
    expect((await call('DELETE', `/v1/auth-methods/${other.body.authMethod.id}`)).status).toBe(204);
    expect((await call('GET', '/v1/roles/tessera-admin')).body.associations).toHaveLength(1);
  });

  it('creates, lists, gets and deletes roles; names with and without a slash are one role', async () => {
    let r = await call('POST', '/v1/roles', { name: 'ops', description: 'Operations' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'ops', description: 'Operations', builtin: false, rules: [] });
    expect((await call('POST', '/v1/roles', { name: '/ops' })).status).toBe(409);
    expect((await call('GET', '/v1/roles/%2Fops')).body.name).toBe('ops');
    r = await call('GET', '/v1/roles?limit=1');
    expect(r.body.items).toHaveLength(1);
    expect(r.body.nextCursor).toBeTruthy();
    expect((await call('GET', '/v1/roles/nope')).status).toBe(404);
    expect((await call('DELETE', '/v1/roles/ops')).status).toBe(204);
    expect((await call('GET', '/v1/roles/ops')).status).toBe(404);
  });

  it('a rule grants its path and nothing else; setting it again replaces its capabilities', async () => {
    const p = await principal([{ ruleType: 'identity', path: '/demo/*', capabilities: ['read'] }]);
    expect(await readIdentity('demo/x', p.token)).toBe(200);
    expect(await readIdentity('prod/y', p.token)).toBe(403);
    // Akeyless spelling, same (role, type, path): replaced, not added.
    let r = await call('POST', `/v1/roles/${p.role}/rules`, {
      ruleType: 'identity-rule',
      path: 'demo/*',
      capabilities: ['deny'],
    });
    expect(r.status).toBe(200);
    const rules = (await call('GET', `/v1/roles/${p.role}`)).body.rules;
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ ruleType: 'identity', path: '/demo/*', capabilities: ['deny'] });
    expect(await readIdentity('demo/x', p.token)).toBe(403);
    r = await call(
      'DELETE',
      `/v1/roles/${p.role}/rules?ruleType=identity&path=${encodeURIComponent('/demo/*')}`,
    );
    expect(r.status).toBe(204);
    expect((await call('GET', `/v1/roles/${p.role}`)).body.rules).toEqual([]);
    r = await call(
      'DELETE',
      `/v1/roles/${p.role}/rules?ruleType=identity&path=${encodeURIComponent('/demo/*')}`,
    );
    expect(r.status).toBe(404);
    expect(
      (
        await call('POST', `/v1/roles/${p.role}/rules`, {
          ruleType: 'target-rule',
          path: '/x',
          capabilities: ['read'],
        })
      ).status,
    ).toBe(400);
  });

  it('a rule with a TTL stops applying when it expires', async () => {
    const p = await principal([
      { ruleType: 'identity', path: '/demo/*', capabilities: ['read'], ttlSeconds: 60 },
    ]);
    const rule = (await call('GET', `/v1/roles/${p.role}`)).body.rules[0];
    expect(Date.parse(rule.expiresAt)).toBe(s.clock.ms + 60_000);
    expect(await readIdentity('demo/x', p.token)).toBe(200);
    s.clock.advance(59);
    expect(await readIdentity('demo/x', p.token)).toBe(200);
    s.clock.advance(1);
    expect(await readIdentity('demo/x', p.token)).toBe(403);
  });

  it('a CIDR condition: the grant applies only from its networks', async () => {
    const p = await principal([
      {
        ruleType: 'identity',
        path: '/demo/*',
        capabilities: ['read'],
        conditions: { cidrs: ['10.0.0.0/8'] },
      },
    ]);
    expect(await readIdentity('demo/x', p.token, '10.1.2.3')).toBe(200);
    expect(await readIdentity('demo/x', p.token, '192.168.1.1')).toBe(403);
    expect(await readIdentity('demo/x', p.token)).toBe(403); // 127.0.0.1
  });

  it('an association narrowed by environment follows the identity record', async () => {
    const created = await call('POST', '/v1/identities', {
      name: 'svc-env',
      kind: 'service',
      owner: 'alice@example.com',
      environment: 'prod',
    });
    expect(created.status).toBe(201);
    await call('POST', '/v1/roles', { name: 'prod-readers' });
    await call('POST', '/v1/roles/prod-readers/rules', {
      ruleType: 'identity',
      path: '/demo/*',
      capabilities: ['read'],
    });
    const m = await call('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: '/keys/env',
      identityId: created.body.id,
    });
    const a = await call('POST', '/v1/roles/prod-readers/associations', {
      authMethodId: m.body.authMethod.id,
      claims: { environment: ['prod', 'staging'] },
    });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      authMethodName: '/keys/env',
      claims: { environment: ['prod', 'staging'] },
    });
    const token = (
      await s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
      })
    ).body.token;
    expect(await readIdentity('demo/x', token)).toBe(200);
    await call('PATCH', `/v1/identities/${created.body.id}`, { environment: 'dev' });
    s.clock.advance(3); // identity claims are cached for 2 s
    expect(await readIdentity('demo/x', token)).toBe(403);
    expect(
      (
        await call('POST', '/v1/roles/prod-readers/associations', {
          authMethodName: '/keys/env',
          claims: { team: ['x'] },
        })
      ).status,
    ).toBe(400);
  });

  it('an association narrowed to a UID subtree applies to that node and below only', async () => {
    const { methodName, root } = await uidSetup(s);
    const child = await s.call('POST', '/v1/uid/children', { token: root.token, body: { ttlSeconds: 600 } });
    const grandchild = await s.call('POST', '/v1/uid/children', {
      token: child.body.token,
      body: { ttlSeconds: 300 },
    });
    await call('POST', '/v1/roles', { name: 'subtree-readers' });
    await call('POST', '/v1/roles/subtree-readers/rules', {
      ruleType: 'identity',
      path: '/demo/*',
      capabilities: ['read'],
    });
    const a = await call('POST', '/v1/roles/subtree-readers/associations', {
      authMethodName: methodName,
      claims: { 'uid-subtree': [child.body.tokenId] },
    });
    expect(a.status).toBe(201);
    const read = async (uidToken: string) => readIdentity('demo/x', (await uidAuth(s, uidToken)).body.token);
    expect(await read(root.token)).toBe(403);
    expect(await read(child.body.token)).toBe(200);
    expect(await read(grandchild.body.token)).toBe(200);
  });

  it('roles include roles, transitively; cycles are refused', async () => {
    const p = await principal();
    await call('POST', '/v1/roles', { name: 'inc-mid' });
    await call('POST', '/v1/roles', { name: 'inc-leaf' });
    await call('POST', '/v1/roles/inc-leaf/rules', {
      ruleType: 'identity',
      path: '/demo/*',
      capabilities: ['read'],
    });
    expect((await call('POST', '/v1/roles/inc-mid/includes', { role: 'inc-leaf' })).status).toBe(200);
    const r = await call('POST', `/v1/roles/${p.role}/includes`, { role: 'inc-mid' });
    expect(r.status).toBe(200);
    expect(r.body.includes).toEqual(['inc-mid']);
    expect(await readIdentity('demo/x', p.token)).toBe(200);
    for (const [role, included] of [
      ['inc-leaf', p.role],
      ['inc-leaf', 'inc-mid'],
      ['inc-mid', 'inc-mid'],
    ]) {
      const c = await call('POST', `/v1/roles/${role}/includes`, { role: included });
      expect(c.status, `${role} ⊃ ${included}`).toBe(409);
      expect(c.body.error.code).toBe('TESSERA_ROLE_CYCLE');
    }
    const del = await call('DELETE', '/v1/roles/inc-leaf');
    expect(del.status).toBe(409);
    expect(del.body.error.details.includedBy).toEqual(['inc-mid']);
    expect((await call('DELETE', '/v1/roles/inc-mid/includes/inc-leaf')).status).toBe(204);
    expect((await call('DELETE', '/v1/roles/inc-mid/includes/inc-leaf')).status).toBe(404);
    expect(await readIdentity('demo/x', p.token)).toBe(403);
  });

  it('explains decisions for the caller and, with read on role:/*, for another token', async () => {
    const p = await principal([
      { ruleType: 'identity', path: '/demo/*', capabilities: ['read', 'list'] },
      { ruleType: 'identity', path: '/demo/old-*', capabilities: ['read'], ttlSeconds: 1 },
    ]);
    let r = await call(
      'POST',
      '/v1/access/explain',
      { path: '/demo/x', action: 'read', ruleType: 'identity' },
      p.token,
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      allowed: true,
      reason: 'granted',
      role: p.role,
      association: p.assocId,
      rule: { ruleType: 'identity', path: '/demo/*', capabilities: ['read', 'list'] },
      resource: { type: 'identity', path: '/demo/x' },
    });
    expect(r.body.summary).toMatch(new RegExp(`^allowed by role ${p.role} rule rr-`));
    r = await call(
      'POST',
      '/v1/access/explain',
      { path: '/prod/y', action: 'read', ruleType: 'identity' },
      p.token,
    );
    expect(r.body).toMatchObject({ allowed: false, reason: 'no-matching-rule', rule: null });
    expect(r.body.summary).toBe('denied: no matching rule');
    // Another token: the administrator may; the principal itself may not.
    s.clock.advance(2);
    r = await call('POST', '/v1/access/explain', {
      token: p.token,
      path: 'demo/old-1',
      action: 'update',
      ruleType: 'identity-rule',
    });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain(p.token);
    expect(r.body.principal.authMethodId).toBe(p.methodId);
    expect(r.body.notApplied).toEqual([expect.objectContaining({ path: '/demo/old-*', why: 'expired' })]);
    r = await call('POST', '/v1/access/explain', { token: admin, path: '/x', action: 'read' }, p.token);
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body)).not.toContain(admin);
    r = await call('POST', '/v1/access/explain', { token: 'not-a-token', path: '/x', action: 'read' });
    expect(r.status).toBe(400);
    expect(r.body.error.details.tokenError).toBe('TESSERA_TOKEN_INVALID');
    r = await call('POST', '/v1/access/explain', { path: '/x', action: 'read', ruleType: '*' });
    expect(r.status).toBe(400);
  });

  it('deleting a role removes its associations and its grants', async () => {
    const p = await principal([{ ruleType: 'identity', path: '/demo/*', capabilities: ['read'] }]);
    expect(await readIdentity('demo/x', p.token)).toBe(200);
    expect((await call('DELETE', `/v1/roles/${p.role}`)).status).toBe(204);
    expect(await readIdentity('demo/x', p.token)).toBe(403);
    expect((await call('DELETE', `/v1/role-associations/${p.assocId}`)).status).toBe(404);
  });
  it('a time-window condition follows the clock (UTC)', async () => {
    // The test clock starts on Sunday 22 November 2026, 12:00 UTC.
    const p = await principal([
      {
        ruleType: 'identity',
        path: '/demo/*',
        capabilities: ['read'],
        conditions: { timeWindow: { days: ['sun', 'mon'], fromHour: 9, toHour: 17 } },
      },
    ]);
    const at = new Date(s.clock.ms);
    let sunday = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 12);
    while (new Date(sunday).getUTCDay() !== 0 || sunday < s.clock.ms) sunday += 86_400_000;
    s.clock.advance((sunday - s.clock.ms) / 1000);
    expect(await readIdentity('demo/x', await p.login())).toBe(200);
    s.clock.advance(6 * 3600); // 18:00
    expect(await readIdentity('demo/x', await p.login())).toBe(403);
    s.clock.advance(16 * 3600); // Monday 10:00
    expect(await readIdentity('demo/x', await p.login())).toBe(200);
    s.clock.advance(24 * 3600); // Tuesday 10:00
    expect(await readIdentity('demo/x', await p.login())).toBe(403);
    admin = await adminSession(s);
  });
});

describe('roles across two servers on one PostgreSQL database', () => {
  const enabled = STORES.includes('postgres');
  let pair: ServerPair | undefined;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    if (!enabled) return;
    pair = await startServerPair();
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  it.skipIf(!enabled)('a change on one server is in force on the other within a second', async () => {
    const m = await a.call('POST', '/v1/auth-methods', {
      token: a.adminToken,
      body: { type: 'access_key', name: '/keys/shared' },
    });
    await a.call('POST', '/v1/roles', { token: a.adminToken, body: { name: 'shared' } });
    await a.call('POST', '/v1/roles/shared/associations', {
      token: a.adminToken,
      body: { authMethodId: m.body.authMethod.id },
    });
    const token = (
      await b.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
      })
    ).body.token;
    const probe = () => b.call('GET', '/v1/roles', { token });
    expect((await probe()).status).toBe(403); // b has now cached the empty policy
    await a.call('POST', '/v1/roles/shared/rules', {
      token: a.adminToken,
      body: { ruleType: 'role', path: '*', capabilities: ['list'] },
    });
    // b's test clock stands still, so only the notification can end its cache entry.
    const started = performance.now();
    while ((await probe()).status !== 200) {
      expect(performance.now() - started).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
});

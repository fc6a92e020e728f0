import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

/**
 * Attacks on the access model (ADR 0008): a principal with a role on `/demo/*` tries to widen its
 * own rights — create roles, attach itself to the administrator role, include it, edit its own role,
 * read outside its path, inspect other tokens — and a deny must beat an admin-like grant.
 */
describe.each(STORES)('access model attacks on %s', (store) => {
  let s: TestServer;
  let admin: string;
  let mallory: { token: string; methodId: string };
  const ids = new Map<string, string>();

  const call = (method: string, url: string, body?: unknown, token = admin) =>
    s.call(method, url, { token, ...(body !== undefined ? { body } : {}) });

  async function signIn(name: string, role: string) {
    const m = await call('POST', '/v1/auth-methods', { type: 'access_key', name });
    expect((await call('POST', `/v1/roles/${role}/associations`, { authMethodName: name })).status).toBe(201);
    const a = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    return { token: a.body.token as string, methodId: m.body.authMethod.id as string };
  }

  beforeAll(async () => {
    s = await startTestServer(store);
    admin = s.adminToken;
    for (const name of ['demo/app', 'demo/secret-db', 'prod/app']) {
      const r = await call('POST', '/v1/identities', { name, kind: 'service', owner: 'alice@example.com' });
      ids.set(name, r.body.id);
    }
    await call('POST', '/v1/roles', { name: 'demo-team' });
    for (const ruleType of ['item', 'identity']) {
      await call('POST', '/v1/roles/demo-team/rules', {
        ruleType,
        path: '/demo/*',
        capabilities: ['read', 'list', 'create', 'update', 'delete'],
      });
    }
    mallory = await signIn('/keys/mallory', 'demo-team');
  });
  afterAll(async () => {
    await s?.close();
  });

  const refused = async (method: string, url: string, body?: unknown) => {
    const r = await call(method, url, body, mallory.token);
    expect(r.status, `${method} ${url}: ${JSON.stringify(r.body)}`).toBe(403);
    expect(r.body.error.code).toBe('TESSERA_FORBIDDEN');
  };

  it('reads inside its path and nothing outside it', async () => {
    expect(
      (await call('GET', `/v1/identities/${ids.get('demo/app')}`, undefined, mallory.token)).status,
    ).toBe(200);
    await refused('GET', `/v1/identities/${ids.get('prod/app')}`);
    await refused('GET', '/v1/identities');
    await refused('PATCH', `/v1/identities/${ids.get('prod/app')}`, { owner: 'mallory@example.com' });
    await refused('GET', '/v1/audit/events');
    await refused('GET', `/v1/auth-methods/${mallory.methodId}`);
  });

  it('cannot create, list, read or change roles — its own included', async () => {
    await refused('POST', '/v1/roles', { name: 'mine' });
    await refused('GET', '/v1/roles');
    await refused('GET', '/v1/roles/demo-team');
    await refused('POST', '/v1/roles/demo-team/rules', { ruleType: '*', path: '*', capabilities: ['read'] });
    await refused('DELETE', '/v1/roles/demo-team/rules?ruleType=item&path=%2Fdemo%2F*');
    await refused('DELETE', '/v1/roles/demo-team');
  });

  it('cannot associate itself with the administrator role, by name or by access id', async () => {
    await refused('POST', '/v1/roles/tessera-admin/associations', { authMethodName: '/keys/mallory' });
    await refused('POST', '/v1/roles/tessera-admin/associations', { authMethodId: mallory.methodId });
    await refused('POST', '/v1/roles/demo-team/includes', { role: 'tessera-admin' });
    const adminAssoc = (await call('GET', '/v1/roles/tessera-admin')).body.associations[0].id;
    await refused('DELETE', `/v1/role-associations/${adminAssoc}`);
    expect((await call('GET', '/v1/roles/tessera-admin')).body.associations).toHaveLength(1);
  });

  it('managing its own role does not let it include or attach roles it cannot manage', async () => {
    // Give the team update on its own role (a delegated administrator of demo-*).
    await call('POST', '/v1/roles/demo-team/rules', {
      ruleType: 'role',
      path: '/demo-*',
      capabilities: ['read', 'update'],
    });
    await refused('POST', '/v1/roles/demo-team/includes', { role: 'tessera-admin' });
    // It may attach its role only to auth methods it may update: not to the administrator's.
    await refused('POST', '/v1/roles/demo-team/associations', { authMethodId: s.adminAccessId });
    expect((await call('GET', '/v1/roles/demo-team', undefined, mallory.token)).status).toBe(200);
  });

  it('cannot explain another principal’s token, and learns nothing about it', async () => {
    const own = await call(
      'POST',
      '/v1/access/explain',
      { path: '/demo/app', action: 'read' },
      mallory.token,
    );
    expect(own.status).toBe(200);
    expect(own.body.allowed).toBe(true);
    for (const token of [admin, 'eyJhbGciOiJFZERTQSJ9.e30.x', `${admin}x`]) {
      const r = await call(
        'POST',
        '/v1/access/explain',
        { token, path: '/x', action: 'read' },
        mallory.token,
      );
      expect(r.status).toBe(403);
      expect(JSON.stringify(r.body)).not.toContain(token);
    }
  });

  it('a deny beats an admin-like grant', async () => {
    await call('POST', '/v1/roles', { name: 'almost-admin' });
    await call('POST', '/v1/roles/almost-admin/rules', {
      ruleType: '*',
      path: '*',
      capabilities: ['read', 'list', 'create', 'update', 'delete'],
    });
    await call('POST', '/v1/roles/almost-admin/rules', {
      ruleType: 'identity',
      path: '/demo/secret-*',
      capabilities: ['deny'],
    });
    const eve = await signIn('/keys/eve', 'almost-admin');
    const get = (name: string) => call('GET', `/v1/identities/${ids.get(name)}`, undefined, eve.token);
    expect((await get('demo/app')).status).toBe(200);
    expect((await get('prod/app')).status).toBe(200);
    expect((await get('demo/secret-db')).status).toBe(403);
    const explain = await call(
      'POST',
      '/v1/access/explain',
      { path: '/demo/secret-db', action: 'read', ruleType: 'identity' },
      eve.token,
    );
    expect(explain.body).toMatchObject({ allowed: false, reason: 'denied-by-rule', role: 'almost-admin' });
    // The built-in role cannot be edited, but a deny in another role associated with the
    // administrator's method beats its grant all the same.
    await call('POST', '/v1/roles', { name: 'admin-guard' });
    await call('POST', '/v1/roles/admin-guard/rules', {
      ruleType: 'identity',
      path: '/demo/secret-*',
      capabilities: ['deny'],
    });
    await call('POST', '/v1/roles/admin-guard/associations', { authMethodId: s.adminAccessId });
    expect((await call('GET', `/v1/identities/${ids.get('demo/secret-db')}`)).status).toBe(403);
    expect((await call('GET', `/v1/identities/${ids.get('demo/app')}`)).status).toBe(200);
  });
});

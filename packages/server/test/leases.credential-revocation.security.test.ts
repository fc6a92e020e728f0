import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';
import { postgresFixture } from './producer-fixtures.js';

/**
 * Issue 10, item 4: a lease does not outlive the credential it was obtained through (as Vault ties
 * leases to tokens). Revoking a UID token (self: its own leases; all: the subtree's), or deleting
 * the auth method, revokes the leases and drops the accounts — after the commit, on every store.
 */
const tag = `c${process.pid}${Math.random().toString(36).slice(2, 6)}`;

describe.each(STORES)('leases end with their credential, store on %s', (store) => {
  const target = postgresFixture();
  const prefix = `tsr_${tag}_${store.slice(0, 2)}_`;
  const item = '/lt/orders-db';
  let s: TestServer;

  const grantRead = async (authMethodName: string) => {
    const role = `readers-${Math.random().toString(36).slice(2, 8)}`;
    expect((await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } })).status).toBe(
      201,
    );
    const rule = await s.call('POST', `/v1/roles/${role}/rules`, {
      token: s.adminToken,
      body: { ruleType: 'item', path: '/lt/*', capabilities: ['read'] },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBeLessThan(300);
    const assoc = await s.call('POST', `/v1/roles/${role}/associations`, {
      token: s.adminToken,
      body: { authMethodName },
    });
    expect(assoc.status, JSON.stringify(assoc.body)).toBe(201);
  };
  const issueWith = async (sessionToken: string) => {
    const r = await s.call('POST', '/v1/dynamic-secrets/credentials', {
      token: sessionToken,
      body: { name: item },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    s.track(r.body.password);
    return r.body as { leaseId: string; username: string; password: string };
  };
  const sessionOf = async (uidToken: string) => {
    const auth = await uidAuth(s, uidToken);
    expect(auth.status, JSON.stringify(auth.body)).toBe(200);
    return auth.body.token as string;
  };
  const leaseState = async (leaseId: string) => {
    const r = await s.call('GET', `/v1/leases?name=${encodeURIComponent(item)}`, { token: s.adminToken });
    return r.body.items.find((l: { leaseId: string }) => l.leaseId === leaseId) as {
      state: string;
      uidNodeId: string | null;
      authMethodId: string | null;
    };
  };

  beforeAll(async () => {
    await target.setUp(`${tag}_${store}`);
    s = await startTestServer(store);
    const created = await s.call('POST', '/v1/dynamic-secrets', {
      token: s.adminToken,
      body: { name: item, type: 'postgresql', settings: target.settings(prefix), leaseQuota: 10 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
    await target.tearDown(prefix);
  });

  it('revoking a UID token (self) revokes its leases, not its child’s; (all) revokes the subtree’s', async () => {
    const { root, methodName, method } = await uidSetup(s, { ttlSeconds: 3600 });
    await grantRead(methodName);
    const child = await s.call('POST', '/v1/uid/children', { token: root.token, body: {} });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    const grandchild = await s.call('POST', '/v1/uid/children', { token: child.body.token, body: {} });
    expect(grandchild.status, JSON.stringify(grandchild.body)).toBe(201);

    const ofRoot = await issueWith(await sessionOf(root.token));
    const ofChild = await issueWith(await sessionOf(child.body.token));
    const ofGrandchild = await issueWith(await sessionOf(grandchild.body.token));
    expect(await leaseState(ofRoot.leaseId)).toMatchObject({
      state: 'active',
      uidNodeId: root.tokenId,
      authMethodId: method.id,
    });

    const self = await s.call('POST', '/v1/uid/revoke', {
      token: s.adminToken,
      body: { authMethodName: methodName, tokenId: root.tokenId, type: 'self' },
    });
    expect(self.status, JSON.stringify(self.body)).toBe(200);
    await s.tessera.reapLeases(); // joins the pass started after the commit
    expect((await leaseState(ofRoot.leaseId)).state).toBe('revoked');
    expect(await target.accountExists(ofRoot.username)).toBe(false);
    expect((await leaseState(ofChild.leaseId)).state).toBe('active');
    expect((await leaseState(ofGrandchild.leaseId)).state).toBe('active');

    const all = await s.call('POST', '/v1/uid/revoke', {
      token: s.adminToken,
      body: { authMethodName: methodName, tokenId: child.body.tokenId, type: 'all' },
    });
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    await s.tessera.reapLeases();
    for (const lease of [ofChild, ofGrandchild]) {
      expect((await leaseState(lease.leaseId)).state).toBe('revoked');
      expect(await target.accountExists(lease.username)).toBe(false);
      await expect(target.connect(lease.username, lease.password)).rejects.toThrow();
    }
  });

  it('deleting the auth method revokes the leases obtained through it', async () => {
    const m = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: `/ci/lt-${store}` },
    });
    expect(m.status).toBe(201);
    await grantRead(`/ci/lt-${store}`);
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    expect(auth.status).toBe(200);
    const lease = await issueWith(auth.body.token);
    const other = await issueWith(s.adminToken);

    const deleted = await s.call('DELETE', `/v1/auth-methods/${m.body.authMethod.id}`, {
      token: s.adminToken,
    });
    expect(deleted.status, JSON.stringify(deleted.body)).toBeLessThan(300);
    await s.tessera.reapLeases();
    expect((await leaseState(lease.leaseId)).state).toBe('revoked');
    expect(await target.accountExists(lease.username)).toBe(false);
    expect((await leaseState(other.leaseId)).state).toBe('active');
  });
});

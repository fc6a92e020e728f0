import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STORES, startTestServer, type TestServer } from './harness.js';

/**
 * Identity as code declares OAuth resource servers and fully-specified OAuth clients (issue 17,
 * ADR 0038): plan → apply → no change, drift through the API, export → plan no change, problems
 * with file and line.
 */
describe.each(STORES)('identity as code: resource servers and OAuth clients on %s', (store) => {
  let s: TestServer;
  let jwks: { keys: Record<string, unknown>[] };
  beforeAll(async () => {
    s = await startTestServer(store);
    const pair = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', use: 'sig' }] };
  });
  afterAll(async () => {
    await s?.close();
  });

  const files = (text: string) => [{ path: 'oauth.yaml', text }];
  const plan = (text: string) =>
    s.call('POST', '/v1/config/plan', { token: s.adminToken, body: { files: files(text) } });
  const apply = (text: string, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/config/apply', { token: s.adminToken, body: { files: files(text), ...extra } });
  const changesOf = (body: any, kind: string) => body.changes.filter((c: any) => c.kind === kind);

  const text = () =>
    stringify({
      resourceServers: [
        {
          name: 'orders',
          identifier: 'https://orders.example.test/',
          owner: 'olga@example.com',
          description: 'Order service',
          scopes: ['write', 'read'],
          accessTokenTtlSeconds: 300,
          senderConstrained: true,
        },
        { name: 'ledger', identifier: 'https://ledger.example.test/api', owner: 'lee@example.com' },
      ],
      identities: [{ name: '/services/reporter', kind: 'service', owner: 'rita@example.com' }],
      authMethods: [
        {
          name: '/clients/reporter',
          type: 'oauth_client',
          identity: '/services/reporter',
          settings: {
            tokenEndpointAuthMethod: 'private_key_jwt',
            jwks,
            scopes: ['read', 'write'],
            resources: ['https://orders.example.test/'],
            jwtTtlSeconds: 900,
            dpopBoundAccessTokens: true,
            grantTypes: ['client_credentials'],
          },
        },
        {
          name: '/clients/reporter-mtls',
          type: 'oauth_client',
          identity: '/services/reporter',
          settings: {
            tokenEndpointAuthMethod: 'tls_client_auth',
            tlsClientAuthSubjectDn: 'CN=reporter,O=Example',
            scopes: ['read'],
            resources: ['https://ledger.example.test/api'],
          },
        },
      ],
    });

  it('creates resource servers and clients, then plans no change', async () => {
    const p = await plan(text());
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(
      changesOf(p.body, 'resourceServers')
        .map((c: any) => `${c.op} ${c.name}`)
        .sort(),
    ).toEqual(['create ledger', 'create orders']);
    const a = await apply(text(), { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const live = await s.call('GET', '/v1/oauth/resource-servers/orders', { token: s.adminToken });
    expect(live.body).toMatchObject({
      identifier: 'https://orders.example.test/',
      owner: 'olga@example.com',
      scopes: ['read', 'write'],
      accessTokenTtlSeconds: 300,
      senderConstrained: true,
    });
    const events = await s.call('GET', '/v1/audit/events?type=oauth.resource_server_created', {
      token: s.adminToken,
    });
    expect(events.body.items).toHaveLength(2);
    expect((await plan(text())).body.changes).toEqual([]);
  });

  it('shows changes made through the API as drift, and export → plan shows no change', async () => {
    const patch = await s.call('PATCH', '/v1/oauth/resource-servers/orders', {
      token: s.adminToken,
      body: { scopes: ['read'], senderConstrained: false },
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    const clients = (await s.call('GET', '/v1/oauth-clients', { token: s.adminToken })).body.items;
    const reporter = clients.find((c: any) => c.name === '/clients/reporter');
    const patched = await s.call('PATCH', `/v1/oauth-clients/${reporter.clientId}`, {
      token: s.adminToken,
      body: { dpopBoundAccessTokens: false, grantTypes: null },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);

    const p = await plan(text());
    expect(p.body.summary).toEqual({ create: 0, update: 2, delete: 0 });
    const [rs] = changesOf(p.body, 'resourceServers');
    expect(rs).toMatchObject({ op: 'update', name: 'orders' });
    expect(rs.fields.map((f: any) => f.field).sort()).toEqual(['scopes', 'senderConstrained']);
    expect(changesOf(p.body, 'authMethods')).toEqual([
      expect.objectContaining({ op: 'update', name: '/clients/reporter' }),
    ]);

    const doc = (await s.call('GET', '/v1/config/export', { token: s.adminToken })).body.document;
    expect(doc.resourceServers.map((x: any) => x.name)).toEqual(['ledger', 'orders']);
    const exported = doc.authMethods.find((m: any) => m.name === '/clients/reporter-mtls');
    expect(exported.settings).toMatchObject({ tlsClientAuthSubjectDn: 'CN=reporter,O=Example' });
    expect((await plan(stringify(doc))).body.changes).toEqual([]);

    const a = await apply(text());
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.plan.summary).toEqual({ create: 0, update: 2, delete: 0 });
    expect((await plan(text())).body.changes).toEqual([]);
    const live = await s.call('GET', `/v1/oauth-clients/${reporter.clientId}`, { token: s.adminToken });
    expect(live.body).toMatchObject({ dpopBoundAccessTokens: true, grantTypes: ['client_credentials'] });
  });

  it('refuses a change of identifier and bad declarations with file and line, applying nothing', async () => {
    const moved = text().replace('https://orders.example.test/', 'https://orders2.example.test/');
    const bad = await plan(moved);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.problems).toEqual([
      expect.objectContaining({ file: 'oauth.yaml', message: expect.stringMatching(/identifier/) }),
    ]);
    const cases: Array<[string, number, RegExp]> = [
      [
        'resourceServers:\n  - name: a\n    owner: x@example.com\n    identifier: not-a-uri\n',
        4,
        /absolute URI/,
      ],
      [
        'resourceServers:\n  - name: b\n    owner: x@example.com\n    identifier: https://b.example/\n    scopes: [ok, "bad scope"]\n',
        5,
        /scope/,
      ],
      [
        'resourceServers:\n  - name: c\n    owner: x@example.com\n    identifier: https://c.example/\n    colour: blue\n',
        5,
        /colour/,
      ],
    ];
    for (const [body, line, message] of cases) {
      const p = await plan(body);
      expect(p.status, body).toBe(400);
      expect(p.body.error.details.problems, body).toEqual([
        expect.objectContaining({ file: 'oauth.yaml', line, message: expect.stringMatching(message) }),
      ]);
      expect((await apply(body)).status).toBe(400);
    }
    const listed = await s.call('GET', '/v1/oauth/resource-servers', { token: s.adminToken });
    expect(listed.body.items.map((x: any) => x.name)).toEqual(['ledger', 'orders']);
  });
});

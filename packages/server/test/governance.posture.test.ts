import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { adminSession, STORES, startTestServer, type TestServer, uidSetup } from './harness.js';

/**
 * Governance (issue 16): a realistic estate — services, pipelines, agents; access keys, UID tokens,
 * OAuth clients, federation bindings; roles and audit history — and each OWASP NHI finding appears
 * with its evidence and disappears once remediated.
 */
describe.each(STORES)('posture findings on %s', (store) => {
  let s: TestServer;
  let admin: string;
  const tag = Math.random().toString(36).slice(2, 7);
  const call = async (method: string, url: string, body?: unknown, token = admin, remoteAddress?: string) =>
    s.call(method, url, {
      token,
      ...(body !== undefined ? { body } : {}),
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await call(method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const scan = () => ok('POST', '/v1/governance/scan');
  const findingsOf = async (identityId: string) =>
    (await ok('GET', `/v1/inventory/${identityId}`)).findings as {
      rule: string;
      owasp: string;
      evidence: any;
    }[];
  const stored = async () => {
    const out: any[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await ok(
        'GET',
        `/v1/governance/findings?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      out.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) return out;
    }
  };
  const rulesOf = async (id: string) =>
    (await stored())
      .filter((f) => f.identityId === id)
      .map((f) => f.rule)
      .sort();

  /** An access-key workload with a role; returns ids and a sign-in. */
  async function keyed(name: string, identity: Record<string, unknown>, rules: unknown[]) {
    const ident = await ok('POST', '/v1/identities', { name, ...identity });
    const m = await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `${name}-key`,
      identityId: ident.id,
    });
    const role = `${name.replace(/\//g, '-')}-role`;
    await ok('POST', '/v1/roles', { name: role });
    for (const rule of rules) await ok('POST', `/v1/roles/${role}/rules`, rule);
    await ok('POST', `/v1/roles/${role}/associations`, { authMethodName: `${name}-key` });
    const login = async (remoteAddress?: string) => {
      const a = await s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: m.authMethod.id, accessKey: m.accessKey },
        ...(remoteAddress ? { remoteAddress } : {}),
      });
      return a;
    };
    return { id: ident.id as string, methodId: m.authMethod.id as string, login };
  }

  let payments: Awaited<ReturnType<typeof keyed>>;
  let orphanId: string;
  let pipelineId: string;
  let clientIdentity: string;
  let fedIdentity: string;
  let uidIdentity: string;
  let uidRoot: string;

  beforeAll(async () => {
    s = await startTestServer(store);
    admin = s.adminToken;
    await ok('PUT', '/v1/governance/policy', {
      workstationCidrs: ['10.20.0.0/16'],
      maxSourcesPerCredential: 3,
    });
    for (const path of ['/prod/db/password', '/prod/db/user', '/dev/db/password', '/prod/api/key'])
      await ok('POST', '/v1/secrets', { name: `${tag}${path}`, value: `v-${path}` });
    // A production service on a static key: wildcard list, prod and dev reads; it only ever reads one.
    payments = await keyed(
      `svc-${tag}/payments`,
      { kind: 'service', owner: 'alice', environment: 'production' },
      [
        { ruleType: 'item', path: `/${tag}/prod/db/*`, capabilities: ['read'] },
        { ruleType: 'item', path: `/${tag}/dev/db/*`, capabilities: ['read'] },
        { ruleType: 'item', path: '*', capabilities: ['list'] },
      ],
    );
    // Many more plain identities of each kind, owned by bob (to be offboarded).
    for (const kind of ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device'])
      for (let i = 0; i < 5; i++)
        await ok('POST', '/v1/identities', { name: `fleet-${tag}/${kind}-${i}`, kind, owner: 'bob' });
    // An identity nobody owns (an auth method created without an owner).
    const orphan = await ok('POST', '/v1/auth-methods', { type: 'access_key', name: `orphan-${tag}/key` });
    orphanId = orphan.authMethod.identityId;
    // A CI pipeline holding the administrator role.
    const pipeline = await ok('POST', '/v1/identities', {
      name: `ci-${tag}/deployer`,
      kind: 'ci-pipeline',
      owner: 'alice',
    });
    pipelineId = pipeline.id;
    await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `ci-${tag}/deployer-key`,
      identityId: pipeline.id,
    });
    await ok('POST', '/v1/roles/tessera-admin/associations', { authMethodName: `ci-${tag}/deployer-key` });
    // An OAuth client with a client secret, in production (where DPoP is required).
    const clientIdent = await ok('POST', '/v1/identities', {
      name: `agents-${tag}/billing`,
      kind: 'ai-agent',
      owner: 'alice',
      environment: 'production',
    });
    clientIdentity = clientIdent.id;
    await ok('POST', '/v1/oauth-clients', {
      name: `agents-${tag}/billing-client`,
      identityId: clientIdent.id,
    });
    // A federation binding that accepts any repository of its issuer.
    const fed = await ok('POST', '/v1/identities', {
      name: `ci-${tag}/github`,
      kind: 'ci-pipeline',
      owner: 'alice',
    });
    fedIdentity = fed.id;
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await ok('POST', '/v1/auth-methods', {
      type: 'oidc_federation',
      name: `ci-${tag}/github-fed`,
      identityId: fed.id,
      issuer: 'https://token.actions.githubusercontent.com',
      audience: 'tessera',
      algorithms: ['ES256'],
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] },
      boundClaims: { repository: 'acme/*' },
    });
    // A UID token with a 90-day TTL, used from many hosts and from a workstation.
    const uid = await uidSetup(s, { ttlSeconds: 90 * 86_400 }, `/uid-${tag}/batch`);
    uidIdentity = uid.method.identityId;
    uidRoot = uid.root.token;
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '10.20.4.7'])
      expect(
        (
          await s.call('POST', '/v1/auth', {
            body: { accessType: 'universal_identity', uidToken: uidRoot },
            remoteAddress: ip,
          })
        ).status,
      ).toBe(200);
    // Payments reads one secret (its whole observed use).
    const token = (await payments.login()).body.token;
    expect(
      (await call('GET', `/v1/secrets/value?name=/${tag}/prod/db/password`, undefined, token)).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lists the inventory with credentials, effective and used permissions, findings and risk', async () => {
    const page = await ok('GET', `/v1/inventory?owner=alice&limit=2`);
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await ok('GET', `/v1/inventory?owner=alice&limit=50&cursor=${page.nextCursor}`);
    expect(next.items.every((e: any) => e.owner === 'alice')).toBe(true);
    const fleet = await ok('GET', `/v1/inventory?owner=bob&kind=device&limit=50`);
    expect(fleet.items).toHaveLength(5);

    const p = await ok('GET', `/v1/inventory/${payments.id}`);
    expect(p).toMatchObject({
      kind: 'service',
      owner: 'alice',
      environment: 'production',
      management: 'tessera-issued',
    });
    expect(p.credentials).toEqual([
      expect.objectContaining({
        kind: 'access_key',
        id: payments.methodId,
        live: true,
        lastUsedAt: expect.any(String),
      }),
    ]);
    expect(p.effectivePermissions).toHaveLength(3);
    expect(p.effectivePermissions.find((g: any) => g.path === `/${tag}/prod/db/*`).used).toBe(true);
    expect(p.effectivePermissions.find((g: any) => g.path === `/${tag}/dev/db/*`).used).toBe(false);
    expect(p.usedPermissions).toEqual([
      expect.objectContaining({
        ruleType: 'item',
        action: 'read',
        path: `/${tag}/prod/db/password`,
        count: 1,
      }),
    ]);
    expect(p.riskScore).toBeGreaterThan(0);

    const csv = await s.tessera.app.inject({
      method: 'GET',
      url: '/v1/inventory/export?format=csv&owner=bob',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^id,name,kind,owner/);
    expect(lines).toHaveLength(31);
  });

  it('finds each problem with its evidence, mapped to the OWASP NHI Top 10', async () => {
    await scan();
    const p = await findingsOf(payments.id);
    expect(p.find((f) => f.rule === 'static-access-key')).toMatchObject({
      owasp: 'NHI4',
      evidence: { credential: payments.methodId },
    });
    expect(p.find((f) => f.rule === 'wildcard-grant')).toMatchObject({
      owasp: 'NHI5',
      evidence: { path: '*', capabilities: ['list'] },
    });
    expect(p.find((f) => f.rule === 'cross-environment')).toMatchObject({
      owasp: 'NHI8',
      evidence: { production: [`/${tag}/prod/db/*`], nonProduction: [`/${tag}/dev/db/*`] },
    });
    expect((await findingsOf(orphanId)).find((f) => f.rule === 'no-owner')).toMatchObject({
      owasp: 'NHI1',
      evidence: { owner: 'unassigned' },
    });
    expect((await findingsOf(pipelineId)).find((f) => f.rule === 'admin-on-workload')).toMatchObject({
      owasp: 'NHI5',
      evidence: { role: 'tessera-admin', kind: 'ci-pipeline' },
    });
    const c = await findingsOf(clientIdentity);
    expect(c.find((f) => f.rule === 'client-secret')).toMatchObject({
      owasp: 'NHI4',
      evidence: { tokenEndpointAuthMethod: 'client_secret_basic' },
    });
    expect(c.find((f) => f.rule === 'bearer-without-dpop')).toMatchObject({
      owasp: 'NHI4',
      evidence: { environment: 'production' },
    });
    expect((await findingsOf(fedIdentity)).find((f) => f.rule === 'unrestricted-federation')).toMatchObject({
      owasp: 'NHI6',
      evidence: { boundClaims: { repository: 'acme/*' } },
    });
    const u = await findingsOf(uidIdentity);
    expect(u.find((f) => f.rule === 'ttl-above-policy')).toMatchObject({
      owasp: 'NHI7',
      evidence: { ttlSeconds: 90 * 86_400 },
    });
    expect(u.find((f) => f.rule === 'credential-reuse')?.evidence.sources).toHaveLength(5);
    expect(u.find((f) => f.rule === 'human-use')).toMatchObject({
      owasp: 'NHI10',
      evidence: { sources: ['10.20.4.7'] },
    });
    // The scan stored them: the findings list and the inventory filter agree.
    expect(await rulesOf(payments.id)).toEqual(['cross-environment', 'static-access-key', 'wildcard-grant']);
    const nhi6 = await ok('GET', '/v1/inventory?finding=NHI6');
    expect(nhi6.items.map((e: any) => e.id)).toEqual([fedIdentity]);
  });

  it('pages the inventory by finding and other filters in identity order, without gaps or repeats', async () => {
    await scan();
    const all = async (query: string) => {
      const out: any[] = [];
      for (let cursor: string | null = null; ; ) {
        const page = await ok('GET', `/v1/inventory?${query}${cursor ? `&cursor=${cursor}` : ''}`);
        out.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) return out;
      }
    };
    const everything = await all('limit=7');
    const ids = everything.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    // Each filter, paged two at a time, is exactly the full listing filtered here.
    for (const [query, keep] of [
      ['finding=*', (e: any) => e.findings.length > 0],
      ['finding=NHI4', (e: any) => e.findings.some((f: any) => f.owasp === 'NHI4')],
      [
        'finding=NHI4&kind=service',
        (e: any) => e.kind === 'service' && e.findings.some((f: any) => f.owasp === 'NHI4'),
      ],
      [
        'finding=NHI1&owner=unassigned',
        (e: any) => e.owner === 'unassigned' && e.findings.some((f: any) => f.owasp === 'NHI1'),
      ],
    ] as const) {
      const expected = everything.filter(keep).map((e) => e.id);
      expect(expected.length, query).toBeGreaterThan(0);
      expect(
        (await all(`${query}&limit=2`)).map((e) => e.id),
        query,
      ).toEqual(expected);
    }
  });

  it('after the usage window, unused permissions and stale static secrets appear', async () => {
    s.clock.advance(31 * 86_400);
    admin = await adminSession(s);
    // Payments keeps reading the same secret.
    const token = (await payments.login()).body.token;
    expect(
      (await call('GET', `/v1/secrets/value?name=/${tag}/prod/db/password`, undefined, token)).status,
    ).toBe(200);
    await scan();
    const p = await findingsOf(payments.id);
    const unused = p
      .filter((f) => f.rule === 'unused-permission')
      .map((f) => f.evidence.path)
      .sort();
    expect(unused).toEqual([`/${tag}/dev/db/*`, '*'].sort());
    expect(unused.every((x) => x !== `/${tag}/prod/db/*`)).toBe(true);
    s.clock.advance(60 * 86_400);
    admin = await adminSession(s);
    await ok('PUT', '/v1/governance/policy', { usageWindowDays: 120 });
    expect((await findingsOf(payments.id)).find((f) => f.rule === 'stale-static-secret')).toMatchObject({
      owasp: 'NHI7',
      evidence: { ageDays: 91, maxAgeDays: 90 },
    });
  });

  it('a narrowed role keeps every observed call working, refuses an unobserved one, and clears NHI5/NHI8', async () => {
    const preview = await ok('POST', `/v1/inventory/${payments.id}/narrow`, {});
    expect(preview).toMatchObject({
      applied: null,
      rules: [{ ruleType: 'item', path: `/${tag}/prod/db/password`, capabilities: ['read'] }],
    });
    expect(preview.removed.map((r: any) => r.path).sort()).toEqual([`/${tag}/dev/db/*`, '*'].sort());
    const applied = await ok('POST', `/v1/inventory/${payments.id}/narrow`, { apply: true });
    expect(applied.applied).toMatch(/^narrowed\//);
    const token = (await payments.login()).body.token;
    expect(
      (await call('GET', `/v1/secrets/value?name=/${tag}/prod/db/password`, undefined, token)).status,
    ).toBe(200);
    expect((await call('GET', `/v1/secrets/value?name=/${tag}/prod/db/user`, undefined, token)).status).toBe(
      403,
    );
    expect(
      (await call('GET', `/v1/secrets/value?name=/${tag}/dev/db/password`, undefined, token)).status,
    ).toBe(403);
    await scan();
    const rules = await rulesOf(payments.id);
    for (const gone of ['wildcard-grant', 'cross-environment', 'unused-permission'])
      expect(rules).not.toContain(gone);
    expect(rules).toContain('static-access-key');
  });

  it('findings disappear once remediated (owner, admin, federation, retirement)', async () => {
    await ok('POST', `/v1/inventory/${orphanId}/owner`, { owner: 'team-platform' });
    const pipelineAssoc = (await ok('GET', '/v1/roles/tessera-admin')).associations.find(
      (a: any) => a.authMethodName === `ci-${tag}/deployer-key`,
    );
    await ok('DELETE', `/v1/role-associations/${pipelineAssoc.id}`);
    const fedMethod = (await ok('GET', `/v1/inventory/${fedIdentity}`)).credentials[0].id;
    await ok('PATCH', `/v1/auth-methods/${fedMethod}`, { boundClaims: { repository: 'acme/deploy' } });
    await ok('POST', `/v1/inventory/${uidIdentity}/retire`, {});
    await scan();
    expect(await rulesOf(orphanId)).not.toContain('no-owner');
    expect(await rulesOf(pipelineId)).not.toContain('admin-on-workload');
    expect(await rulesOf(fedIdentity)).not.toContain('unrestricted-federation');
    expect(await rulesOf(uidIdentity)).toEqual([]);
    const resolved = (await ok('GET', '/v1/governance/findings?includeResolved=true&limit=500')).items.filter(
      (f: any) => f.resolvedAt !== null,
    );
    expect(resolved.map((f: any) => f.rule)).toEqual(
      expect.arrayContaining([
        'no-owner',
        'admin-on-workload',
        'unrestricted-federation',
        'ttl-above-policy',
        'human-use',
      ]),
    );
  });

  it('an identity retired by hand with a live credential is NHI1 until its credentials are revoked', async () => {
    const x = await keyed(`svc-${tag}/legacy`, { kind: 'service', owner: 'alice' }, []);
    await ok('POST', `/v1/identities/${x.id}/retire`);
    expect(
      (await findingsOf(x.id)).find((f) => f.rule === 'inactive-identity-live-credential'),
    ).toMatchObject({
      owasp: 'NHI1',
      severity: 'critical',
      evidence: { state: 'retired', live: [expect.objectContaining({ kind: 'access_key', id: x.methodId })] },
    });
    const preview = await ok('POST', `/v1/inventory/${x.id}/retire`, { preview: true });
    expect(preview.wouldRevoke).toEqual([expect.objectContaining({ kind: 'access_key', id: x.methodId })]);
    await ok('POST', `/v1/inventory/${x.id}/retire`, {});
    expect(await findingsOf(x.id)).toEqual([]);
  });

  it('offboarding an owner reassigns or suspends every identity, and flags what is left', async () => {
    const preview = await ok('POST', '/v1/owners/offboard', { owner: 'bob', to: 'carol', preview: true });
    expect(preview.identities).toHaveLength(30);
    expect((await ok('GET', '/v1/inventory?owner=bob&limit=1')).items).toHaveLength(1);
    const done = await ok('POST', '/v1/owners/offboard', { owner: 'bob', to: 'carol' });
    expect(done).toMatchObject({ preview: false, to: 'carol' });
    expect((await ok('GET', '/v1/inventory?owner=bob')).items).toEqual([]);
    expect((await ok('GET', '/v1/inventory?owner=carol')).items).toHaveLength(30);
    // An identity still naming a departed owner is NHI1 (owner gone).
    const late = await ok('POST', '/v1/identities', { name: `late-${tag}`, kind: 'service', owner: 'bob' });
    expect((await findingsOf(late.id)).find((f) => f.rule === 'owner-gone')).toMatchObject({
      owasp: 'NHI1',
      evidence: { owner: 'bob' },
    });
    const suspended = await ok('POST', '/v1/owners/offboard', { owner: 'bob', suspend: true });
    expect(suspended.identities).toEqual([expect.objectContaining({ id: late.id, state: 'suspended' })]);
    expect((await ok('GET', `/v1/inventory/${late.id}`)).state).toBe('suspended');
  });

  it('flags an escalation path: an identity that may edit its own role or associate the administrator', async () => {
    const x = await keyed(`ops-${tag}/operator`, { kind: 'workload', owner: 'alice' }, [
      { ruleType: 'role', path: '*', capabilities: ['update'] },
      { ruleType: 'auth-method', path: `/ops-${tag}/*`, capabilities: ['update'] },
    ]);
    const f = (await findingsOf(x.id)).find((f) => f.rule === 'escalation-path');
    expect(f).toMatchObject({
      owasp: 'NHI5',
      evidence: { canEditOwnRoles: [`ops-${tag}-operator-role`], canAssociateAdministrator: true },
    });
    // It is a real path: with that session the identity associates the administrator role with itself.
    const token = (await x.login()).body.token;
    const escalate = await call(
      'POST',
      '/v1/roles/tessera-admin/associations',
      { authMethodName: `ops-${tag}/operator-key` },
      token,
    );
    expect(escalate.status).toBe(201);
    await ok('DELETE', `/v1/role-associations/${escalate.body.id}`);
    // Remediated: the right to change roles removed.
    await ok(
      'DELETE',
      `/v1/roles/ops-${tag}-operator-role/rules?ruleType=role&path=${encodeURIComponent('*')}`,
    );
    expect((await findingsOf(x.id)).find((f) => f.rule === 'escalation-path')).toBeUndefined();
  });

  it('refuses bad input with 4xx', async () => {
    expect((await call('GET', '/v1/inventory?limit=0')).status).toBe(400);
    expect((await call('GET', '/v1/inventory/i-nope')).status).toBe(404);
    expect((await call('POST', '/v1/owners/offboard', { owner: 'x' })).status).toBe(400);
    expect((await call('PUT', '/v1/governance/policy', { usageWindowDays: 0 })).status).toBe(400);
    expect((await call('GET', '/v1/inventory', undefined, 'nope')).status).toBe(401);
  });

  it('holds its governance.* events to the audit catalogue', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'governance.', [
      'governance.scanned',
      'governance.policy_updated',
      'governance.owner_offboarded',
      'governance.credentials_revoked',
    ]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STORES, startTestServer, type TestServer } from './harness.js';

/** Identity as code (issue 17, ADR 0021): plan, apply, export, drift, stale plans, bad files. */
describe.each(STORES)('identity as code on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const files = (text: string, path = 'tessera.yaml') => [{ path, text }];
  const plan = (f: Array<{ path: string; text: string }>) =>
    s.call('POST', '/v1/config/plan', { token: s.adminToken, body: { files: f } });
  const apply = (f: Array<{ path: string; text: string }>, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/config/apply', { token: s.adminToken, body: { files: f, ...extra } });
  const exported = async () => {
    const r = await s.call('GET', '/v1/config/export', { token: s.adminToken });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.document as Record<string, any>;
  };

  /** The 1-based line of the first line of `text` that holds `needle`. */
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  const BASE = `
version: 1
identities:
  - name: billing-api
    kind: service
    owner: alice@example.com
    environment: prod
    tags: [billing, prod]
  - name: deploy-bot
    kind: ci-pipeline
    owner: bob@example.com
authMethods:
  - name: billing-uid
    type: universal_identity
    identity: billing-api
    settings: { ttlSeconds: 3600 }
  - name: deploy-ci
    type: oidc_federation
    identity: deploy-bot
    settings:
      issuer: https://token.actions.githubusercontent.com
      audience: tessera
      boundClaims: { repository: acme/deploy }
  - name: ops-key
    type: access_key
    identity: deploy-bot
roles:
  - name: billing-readers
    rules:
      - { type: item, path: /prod/billing/*, capabilities: [read, list] }
    associations:
      - authMethod: billing-uid
  - name: deployers
    includes: [billing-readers]
    rules:
      - type: item
        path: /prod/*
        capabilities: [read]
        conditions: { cidrs: [10.0.0.0/8] }
    associations:
      - { authMethod: deploy-ci, claims: { environment: prod } }
      - authMethod: tessera-admin
`;

  it('plans creations, applies them atomically, then shows no change (exit-0 state)', async () => {
    const p = await plan(files(BASE));
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.summary).toEqual({ create: 7, update: 0, delete: 0 });
    expect(p.body.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Objects are created after what they refer to.
    const order = p.body.changes.map((c: any) => c.name);
    expect(order.indexOf('billing-readers')).toBeLessThan(order.indexOf('deployers'));

    const a = await apply(files(BASE), { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.plan.hash).toBe(p.body.hash);
    // The access key generated for ops-key is handed back once, and it works.
    expect(a.body.issued).toHaveLength(1);
    const key = a.body.issued[0].credential;
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: key.accessId, accessKey: key.accessKey },
    });
    expect(auth.status).toBe(200);

    const again = await plan(files(BASE));
    expect(again.body.summary).toEqual({ create: 0, update: 0, delete: 0 });
    expect(again.body.changes).toEqual([]);
  });

  it('export → plan shows no change, and leaves out what the server created for itself', async () => {
    const doc = await exported();
    expect(doc.identities.map((i: any) => i.name)).toEqual(['billing-api', 'deploy-bot']);
    expect(doc.authMethods.map((m: any) => m.name)).not.toContain('tessera-admin');
    expect((doc.roles ?? []).map((r: any) => r.name)).not.toContain('tessera-admin');
    const p = await plan(files(stringify(doc)));
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.changes).toEqual([]);
  });

  it('shows an out-of-band change as drift, with the fields that differ', async () => {
    const id = (await s.call('GET', '/v1/identities?limit=100', { token: s.adminToken })).body.items.find(
      (i: any) => i.name === 'billing-api',
    ).id;
    const patched = await s.call('PATCH', `/v1/identities/${id}`, {
      token: s.adminToken,
      body: { owner: 'mallory@example.com' },
    });
    expect(patched.status).toBe(200);
    const p = await plan(files(BASE));
    expect(p.body.summary).toEqual({ create: 0, update: 1, delete: 0 });
    expect(p.body.changes[0]).toMatchObject({
      op: 'update',
      kind: 'identities',
      name: 'billing-api',
      fields: [{ field: 'owner', from: 'mallory@example.com', to: 'alice@example.com' }],
    });
    const fixed = await apply(files(BASE), { planHash: p.body.hash });
    expect(fixed.status).toBe(200);
    expect((await plan(files(BASE))).body.changes).toEqual([]);
  });

  it('refuses a reviewed plan whose hash no longer matches, and applies nothing', async () => {
    const changed = BASE.replace('owner: bob@example.com', 'owner: carol@example.com');
    const reviewed = await plan(files(changed));
    expect(reviewed.body.summary.update).toBe(1);
    // Someone changes live state after the review.
    const id = (await s.call('GET', '/v1/identities?limit=100', { token: s.adminToken })).body.items.find(
      (i: any) => i.name === 'billing-api',
    ).id;
    await s.call('PATCH', `/v1/identities/${id}`, { token: s.adminToken, body: { environment: 'staging' } });
    const a = await apply(files(changed), { planHash: reviewed.body.hash });
    expect(a.status).toBe(409);
    expect(a.body.error.code).toBe('TESSERA_CONFIG_PLAN_STALE');
    const doc = await exported();
    expect(doc.identities.find((i: any) => i.name === 'deploy-bot').owner).toBe('bob@example.com');
    expect((await apply(files(BASE))).status).toBe(200);
  });

  it('refuses deletions without allowDelete; deletes (retires) with it', async () => {
    const without = BASE.replace(/ {2}- name: deployers[\s\S]*$/, '');
    const p = await plan(files(without));
    expect(p.body.summary).toEqual({ create: 0, update: 0, delete: 1 });
    const refused = await apply(files(without));
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TESSERA_CONFIG_DELETE_REFUSED');
    expect((await exported()).roles.map((r: any) => r.name)).toContain('deployers');
    const done = await apply(files(without), { allowDelete: true, planHash: p.body.hash });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect((await exported()).roles.map((r: any) => r.name)).not.toContain('deployers');
    expect((await apply(files(BASE))).status).toBe(200);
  });

  const problemsOf = async (text: string | Array<{ path: string; text: string }>) => {
    const before = JSON.stringify(await exported());
    const r = await apply(typeof text === 'string' ? files(text, 'bad.yaml') : text, { allowDelete: true });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe('TESSERA_CONFIG_INVALID');
    expect(JSON.stringify(await exported())).toBe(before); // nothing applied
    return r.body.error.details.problems as Array<{
      file: string;
      line: number;
      column: number;
      message: string;
    }>;
  };

  it('reports unknown keys with file and line', async () => {
    const text = BASE.replace('    owner: alice@example.com', '    owner: alice@example.com\n    ownr: x');
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      {
        file: 'bad.yaml',
        line: lineOf(text, 'ownr: x'),
        column: expect.any(Number),
        message: 'identities[0].ownr: unknown key "ownr"',
      },
    ]);
    const top = await problemsOf(`${BASE}\nsecretz: []\n`);
    expect(top[0]!.message).toBe('secretz: unknown key "secretz"');
  });

  it('reports wrong types and values with file and line', async () => {
    const text = BASE.replace('kind: ci-pipeline', 'kind: robot').replace(
      'tags: [billing, prod]',
      'tags: billing',
    );
    const problems = await problemsOf(text);
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [lineOf(text, 'tags: billing'), 'identities[0].tags: must be array'],
      [
        lineOf(text, 'kind: robot'),
        expect.stringMatching(/^identities\[1\]\.kind: must be one of "service", .*"other"$/),
      ],
    ]);
    const bad = BASE.replace('settings: { ttlSeconds: 3600 }', 'settings: { ttlSeconds: 3600, colour: red }');
    const settings = await problemsOf(bad);
    expect(settings[0]).toMatchObject({
      line: lineOf(bad, 'colour: red'),
      message: expect.stringMatching(/^auth method "billing-uid": settings.*colour/),
    });
  });

  it('reports dangling references and names both objects', async () => {
    const text = BASE.replace('includes: [billing-readers]', 'includes: [billing-writers]');
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        line: lineOf(text, 'includes: [billing-writers]'),
        message: 'role "deployers" refers to role "billing-writers", which is not declared',
      }),
    ]);
    const method = await problemsOf(BASE.replace('identity: billing-api', 'identity: billing'));
    expect(method[0]!.message).toBe(
      'auth method "billing-uid" refers to identity "billing", which is not declared',
    );
  });

  it('refuses a credential written in a file, without echoing it', async () => {
    const auth = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: 'leaky-key' },
    });
    const key = auth.body.accessKey as string;
    const text = BASE.replace('owner: bob@example.com', `owner: bob@example.com\n    description: "${key}"`);
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        line: lineOf(text, 'description:'),
        message:
          'identities[1].description: this looks like an access key; a file never holds a secret (issue it out of band)',
      }),
    ]);
    expect(JSON.stringify(problems)).not.toContain(key.slice(4));
    await s.call('DELETE', `/v1/auth-methods/${auth.body.authMethod.id}`, { token: s.adminToken });
  });

  it('refuses an OAuth registration token written in a file', async () => {
    const issued = await s.call('POST', '/v1/oauth/registration-tokens', {
      token: s.adminToken,
      body: { path: '/ci/*', ttlSeconds: 600 },
    });
    const token = issued.body.token as string;
    s.track(token);
    const text = BASE.replace(
      'owner: bob@example.com',
      `owner: bob@example.com\n    description: "${token}"`,
    );
    const problems = await problemsOf(text);
    expect(problems).toEqual([
      expect.objectContaining({
        message:
          'identities[1].description: this looks like an OAuth initial access token; a file never holds a secret (issue it out of band)',
      }),
    ]);
    expect(JSON.stringify(problems)).not.toContain(token.slice(4));
  });

  it('reports cycles', async () => {
    const cyclic = BASE.replace(
      '      - authMethod: billing-uid\n',
      '      - authMethod: billing-uid\n    includes: [deployers]\n',
    );
    const problems = await problemsOf(cyclic);
    expect(problems).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^role references form a cycle: (billing-readers → deployers → billing-readers|deployers → billing-readers → deployers)$/,
        ),
      }),
    ]);
  });

  it('reports syntax errors, duplicates across files, and system objects', async () => {
    const syntax = await problemsOf('identities:\n  - name: [unclosed\n');
    expect(syntax[0]).toMatchObject({ file: 'bad.yaml', line: expect.any(Number) });
    const dup = await problemsOf([
      { path: 'a.yaml', text: BASE },
      {
        path: 'b.yaml',
        text: 'identities:\n  - name: billing-api\n    kind: service\n    owner: x@example.com\n',
      },
    ]);
    expect(dup).toEqual([
      expect.objectContaining({
        file: 'b.yaml',
        line: 2,
        message: `identity "billing-api" is declared twice (first at a.yaml:${lineOf(BASE, '- name: billing-api')})`,
      }),
    ]);
    const system = await problemsOf(
      BASE.replace(
        'roles:\n',
        '  - name: tessera-admin\n    type: access_key\n    identity: deploy-bot\nroles:\n',
      ),
    );
    expect(system.some((p) => p.message.includes('is created by the server itself'))).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STORES, startTestServer, type TestServer } from './harness.js';

/** Identity as code declares PKI certificate profiles (issue 17): plan, apply, drift, export, problems. */
describe.each(STORES)('identity as code: PKI profiles on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const files = (text: string) => [{ path: 'pki.yaml', text }];
  const plan = (text: string) =>
    s.call('POST', '/v1/config/plan', { token: s.adminToken, body: { files: files(text) } });
  const apply = (text: string, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/config/apply', { token: s.adminToken, body: { files: files(text), ...extra } });

  const TEXT = `
pkiProfiles:
  - name: workload
    maxTtlSeconds: 86400
    defaultTtlSeconds: 3600
    keyTypes: [ed25519, ec-p256]
    spiffeIdPath: /workload/{identity}
    dnsNames: ['{identity}.svc.cluster.local']
`;

  it('creates a profile with the API defaults, then plans no change', async () => {
    const p = await plan(TEXT);
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.summary).toEqual({ create: 1, update: 0, delete: 0 });
    const a = await apply(TEXT, { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const live = await s.call('GET', '/v1/pki/profiles', { token: s.adminToken });
    const profile = (live.body.items ?? live.body).find((x: any) => x.name === 'workload');
    expect(profile).toMatchObject({
      maxTtlSeconds: 86400,
      defaultTtlSeconds: 3600,
      spiffeIdPath: '/workload/{identity}',
    });
    expect(profile.keyUsages).toEqual(['digitalSignature']);
    expect((await plan(TEXT)).body.changes).toEqual([]);
  });

  it('shows a change made through the API as drift, and export → plan shows no change', async () => {
    const put = await s.call('PUT', '/v1/pki/profiles/workload', {
      token: s.adminToken,
      body: { maxTtlSeconds: 7200 },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const p = await plan(TEXT);
    expect(p.body.changes).toEqual([
      {
        op: 'update',
        kind: 'pkiProfiles',
        name: 'workload',
        fields: [expect.objectContaining({ field: 'maxTtlSeconds', from: 7200, to: 86400 })],
      },
    ]);
    const doc = (await s.call('GET', '/v1/config/export', { token: s.adminToken })).body.document;
    expect(doc.pkiProfiles.map((x: any) => x.name)).toEqual(['workload']);
    expect((await plan(stringify(doc))).body.changes).toEqual([]);
    expect((await apply(TEXT)).status).toBe(200);
  });

  it('reports what the API refuses, with file and line, and deletes only with allowDelete', async () => {
    const bad = await plan(
      'pkiProfiles:\n  - name: short\n    maxTtlSeconds: 600\n    defaultTtlSeconds: 900\n',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.problems).toEqual([
      expect.objectContaining({
        file: 'pki.yaml',
        line: 4,
        message:
          'PKI profile "short": defaultTtlSeconds: defaultTtlSeconds must be between 10 and maxTtlSeconds.',
      }),
    ]);
    expect((await apply('pkiProfiles: []\n')).body.error.code).toBe('TESSERA_CONFIG_DELETE_REFUSED');
    const gone = await apply('pkiProfiles: []\n', { allowDelete: true });
    expect(gone.status, JSON.stringify(gone.body)).toBe(200);
    expect(gone.body.plan.summary).toEqual({ create: 0, update: 0, delete: 1 });
  });
});

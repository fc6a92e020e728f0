import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STORES, startTestServer, type TestServer } from './harness.js';

/**
 * Identity as code, secret values (issue 17, ADR 0030): a file references a value (`{env: NAME}`,
 * `{file: PATH}`), the client sends the value beside the files, and nothing but its keyed
 * fingerprint ever appears in a plan, an export, an error or the audit log.
 */
describe.each(STORES)('identity as code: secret values on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  type Value = { ref: string; value: string };
  const files = (text: string, path = 'identity/secrets.yaml') => [{ path, text }];
  const plan = (f: Array<{ path: string; text: string }>, values: Value[] = []) =>
    s.call('POST', '/v1/config/plan', { token: s.adminToken, body: { files: f, values } });
  const apply = (
    f: Array<{ path: string; text: string }>,
    values: Value[],
    extra: Record<string, unknown> = {},
  ) => s.call('POST', '/v1/config/apply', { token: s.adminToken, body: { files: f, values, ...extra } });
  const storedValue = async (name: string) => {
    const r = await s.call('GET', `/v1/secrets/value?name=${encodeURIComponent(name)}`, {
      token: s.adminToken,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.value as string;
  };

  const DB_PASSWORD = 'correct-horse-battery-staple-7f3a91';
  const API_TOKEN = '{"token":"s3cr3t-api-token-e5b2"}';
  const TEXT = `
version: 1
secrets:
  - name: /prod/billing/db-password
    description: billing database
    tags: [billing]
    value: { env: BILLING_DB_PASSWORD }
  - name: /prod/billing/api-token
    format: json
    value: { file: ./values/api-token.json }
`;
  const VALUES = [
    { ref: 'env:BILLING_DB_PASSWORD', value: DB_PASSWORD },
    { ref: 'file:identity/values/api-token.json', value: API_TOKEN },
  ];

  it('creates secrets from referenced values; the plan shows fingerprints, never the values', async () => {
    const p = await plan(files(TEXT), VALUES);
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.summary).toEqual({ create: 2, update: 0, delete: 0 });
    const text = JSON.stringify(p.body);
    expect(text).not.toContain(DB_PASSWORD);
    expect(text).not.toContain('s3cr3t');
    const value = p.body.changes[0].fields.find((f: any) => f.field === 'value');
    expect(value.to).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);

    const a = await apply(files(TEXT), VALUES, { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(JSON.stringify(a.body)).not.toContain(DB_PASSWORD);
    expect(await storedValue('/prod/billing/db-password')).toBe(DB_PASSWORD);
    expect(await storedValue('/prod/billing/api-token')).toBe(API_TOKEN);

    const again = await plan(files(TEXT), VALUES);
    expect(again.body.changes).toEqual([]);
  });

  it('a new value is a change of `value`; applying it writes a new version', async () => {
    const rotated = [{ ...VALUES[0]!, value: 'a-new-password-0c4d2e' }, VALUES[1]!];
    const p = await plan(files(TEXT), rotated);
    expect(p.body.changes).toEqual([
      expect.objectContaining({
        op: 'update',
        name: '/prod/billing/db-password',
        fields: [expect.objectContaining({ field: 'value' })],
      }),
    ]);
    expect(JSON.stringify(p.body)).not.toContain('a-new-password');
    const a = await apply(files(TEXT), rotated, { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(await storedValue('/prod/billing/db-password')).toBe('a-new-password-0c4d2e');
    await apply(files(TEXT), VALUES);
    expect(await storedValue('/prod/billing/db-password')).toBe(DB_PASSWORD);
  });

  it('shows a value changed out of band as drift, without showing it', async () => {
    const r = await s.call('POST', '/v1/secrets/versions', {
      token: s.adminToken,
      body: { name: '/prod/billing/db-password', value: 'changed-by-hand-99' },
    });
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const p = await plan(files(TEXT), VALUES);
    expect(p.body.summary).toEqual({ create: 0, update: 1, delete: 0 });
    expect(JSON.stringify(p.body)).not.toContain('changed-by-hand');
    await apply(files(TEXT), VALUES);
    expect(await storedValue('/prod/billing/db-password')).toBe(DB_PASSWORD);
  });

  it('export leaves values out, and planning the export shows no change', async () => {
    const r = await s.call('GET', '/v1/config/export', { token: s.adminToken });
    const doc = r.body.document as Record<string, any>;
    expect(doc.secrets.map((x: any) => x.name)).toEqual([
      '/prod/billing/api-token',
      '/prod/billing/db-password',
    ]);
    expect(doc.secrets.every((x: any) => !('value' in x))).toBe(true);
    expect(JSON.stringify(doc)).not.toContain('hmac-sha256');
    // A declaration without a value leaves the value alone (managed out of band).
    const p = await plan(files(stringify(doc)));
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.changes).toEqual([]);
  });

  it('refuses an inline value, a missing value and a new secret without one, with file and line', async () => {
    const text = `
secrets:
  - name: /prod/inline
    value: hunter2-inline-password
  - name: /prod/missing
    value: { env: NOT_SUPPLIED }
`;
    const p = await plan(files(text), []);
    expect(p.status).toBe(400);
    expect(p.body.error.code).toBe('TESSERA_CONFIG_INVALID');
    expect(p.body.error.details.problems).toEqual([
      {
        file: 'identity/secrets.yaml',
        line: 4,
        column: 12,
        message:
          'secrets[0].value: must be a reference, {env: NAME} or {file: PATH}: a file never holds a secret value (ADR 0030)',
      },
    ]);
    expect(JSON.stringify(p.body)).not.toContain('hunter2');

    const missing = await plan(
      files(
        text
          .split('\n')
          .filter((_, i) => i < 2 || i > 3)
          .join('\n'),
      ),
      [],
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.problems).toEqual([
      expect.objectContaining({
        line: 4,
        message:
          'value: no value was supplied for the environment variable NOT_SUPPLIED (the CLI reads it when it plans or applies)',
      }),
    ]);

    const bare = await plan(files('secrets:\n  - name: /prod/no-value\n'), []);
    expect(bare.status).toBe(400);
    expect(bare.body.error.details.problems[0].message).toBe(
      'secret "/prod/no-value" is created here and needs its value: a reference, {env: NAME} or {file: PATH}',
    );
  });

  it('keeps values out of the audit log, and deletes only with allowDelete (restorable)', async () => {
    const kept = TEXT.split('\n').slice(0, 7).join('\n');
    const refused = await apply(files(kept), VALUES.slice(0, 1));
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TESSERA_CONFIG_DELETE_REFUSED');
    const a = await apply(files(kept), VALUES.slice(0, 1), { allowDelete: true });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.plan.summary).toEqual({ create: 0, update: 0, delete: 1 });
    const gone = await s.call('GET', '/v1/secrets/value?name=%2Fprod%2Fbilling%2Fapi-token', {
      token: s.adminToken,
    });
    expect(gone.status).toBe(404);
    // Deleted but restorable: its name is taken until then.
    const back = await plan(files(TEXT), VALUES);
    expect(back.status).toBe(400);
    expect(JSON.stringify(back.body)).toContain('is deleted and still restorable');

    const audit = await s.call('GET', '/v1/audit/events?limit=500', { token: s.adminToken });
    expect(audit.status, JSON.stringify(audit.body)).toBe(200);
    const text = JSON.stringify(audit.body);
    expect(text).toContain('"via":"config"');
    for (const secret of [DB_PASSWORD, 'a-new-password', 's3cr3t']) expect(text).not.toContain(secret);
  });
});

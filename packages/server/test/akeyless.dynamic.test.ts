/**
 * The official `akeyless` SDK against Tessera's dynamic secrets (reference §4.18–4.19): a PostgreSQL
 * producer created both ways, credentials read both ways, and the credential works on the database.
 */
import akeyless from 'akeyless';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

type Api = InstanceType<typeof akeyless.V2Api>;
const model = (name: string, fields: Record<string, unknown>) =>
  (akeyless as unknown as Record<string, { constructFromObject(o: object): object }>)[
    name
  ]!.constructFromObject(fields);

const tag = `ak${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const targetDb = `tessera_target_${tag}`;
const admin = async (text: string, database = 'postgres') => {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
};

describe('akeyless SDK: PostgreSQL dynamic secrets', () => {
  let s: TestServer;
  let api: Api;
  let token: string;

  beforeAll(async () => {
    await admin(`create database ${targetDb}`);
    s = await startTestServer('sqlite');
    const address = await s.tessera.app.listen({ host: '127.0.0.1', port: 0 });
    api = new akeyless.V2Api(new akeyless.ApiClient(`${address}/akeyless`));
    const out = await api.auth(
      model('Auth', {
        'access-type': 'access_key',
        'access-id': s.adminAccessId,
        'access-key': s.adminAccessKey,
      }),
    );
    token = out.token as string;
    s.track(token);
  });
  afterAll(async () => {
    await s?.close();
    const left = await admin(`select rolname from pg_roles where rolname like 'tsr_${tag}%'`);
    for (const r of left.rows) await admin(`drop role if exists "${r.rolname}"`).catch(() => {});
    await admin(`drop database if exists ${targetDb} with (force)`);
  });

  it('creates producers with both commands and never answers the password', async () => {
    const common = {
      'postgresql-host': '127.0.0.1',
      'postgresql-port': '5432',
      'postgresql-db-name': targetDb,
      'postgresql-username': 'postgres',
      'postgresql-password': 'not-shown-anywhere',
      'custom-username-template': `tsr_${tag}_{{random}}`,
      'user-ttl': '30m',
      token,
    };
    const a = (await api.dynamicSecretCreatePostgreSql(
      model('DynamicSecretCreatePostgreSql', { name: '/ak/pg', ...common }),
    )) as Record<string, any>;
    expect(a.dynamic_secret_details).toMatchObject({
      dynamic_secret_name: '/ak/pg',
      db_port: '5432',
      db_name: targetDb,
      user_ttl: '30m',
    });
    const b = (await api.gatewayCreateProducerPostgreSQL(
      model('GatewayCreateProducerPostgreSQL', { name: '/ak/pg-old', ...common }),
    )) as Record<string, any>;
    expect(b.producer_details).toMatchObject({ dynamic_secret_name: '/ak/pg-old' });
    expect(JSON.stringify([a, b])).not.toContain('not-shown-anywhere');
  });

  it('reads credentials with both commands; they log in', async () => {
    for (const call of [
      () => api.getDynamicSecretValue(model('GetDynamicSecretValue', { name: '/ak/pg', token })),
      () => api.dynamicSecretGetValue(model('DynamicSecretGetValue', { name: '/ak/pg', token })),
    ]) {
      const value = (await call()) as Record<string, string>;
      s.track(value.password!);
      expect(value.id).toMatch(/^l-/);
      expect(value.ttl_in_minutes).toBe('30');
      expect(value.user!.startsWith(`tsr_${tag}_`)).toBe(true);
      const c = new pg.Client({
        host: '127.0.0.1',
        port: 5432,
        user: value.user,
        password: value.password,
        database: targetDb,
      });
      await c.connect();
      expect((await c.query('select current_user as u')).rows[0].u).toBe(value.user);
      await c.end();
      const revoked = await s.call('POST', '/v1/leases/revoke', {
        token: s.adminToken,
        body: { leaseId: value.id },
      });
      expect(revoked.body.lease.state).toBe('revoked');
    }
  });

  it('list-items shows dynamic secrets as DYNAMIC_SECRET; the type filter keeps or hides them', async () => {
    const all = (await api.listItems(model('ListItems', { path: '/ak', token }))) as Record<string, any>;
    const types = Object.fromEntries(
      (all.items as Array<{ item_name: string; item_type: string }>).map((i) => [i.item_name, i.item_type]),
    );
    expect(types).toEqual({ '/ak/pg': 'DYNAMIC_SECRET', '/ak/pg-old': 'DYNAMIC_SECRET' });
    const dynamicOnly = (await api.listItems(
      model('ListItems', { path: '/ak', type: ['dynamic-secret'], token }),
    )) as Record<string, any>;
    expect(dynamicOnly.items).toHaveLength(2);
    const staticOnly = (await api.listItems(
      model('ListItems', { path: '/ak', type: ['static-secret'], token }),
    )) as Record<string, any>;
    expect(staticOnly.items ?? []).toEqual([]);
  });
});

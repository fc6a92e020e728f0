import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';
import { redisFixture } from './producer-fixtures.js';
import { mysqlCanQuery, mysqlRoot, rotatedSecretsApi } from './rotation.helpers.js';

/**
 * KEK rotation moves every row the secret KEKs wrap (issue 6, ADR 0007/0010/0011): static secrets,
 * dynamic secrets' sealed settings (Redis producer here) and rotated secrets' sealed state (MariaDB):
 * after the re-wrap the old KEK is destroyed and both still work.
 */
const run = `tsrk${process.pid % 100000}_${Math.random().toString(36).slice(2, 6)}`;
const redis = redisFixture();

describe('KEK rotation re-wraps dynamic and rotated secrets', () => {
  let s: TestServer;
  const { api, value, rotate } = rotatedSecretsApi(() => s);
  const kekVersions = async (table: 'secrets' | 'dynamic_secrets' | 'rotated_secrets') =>
    (await s.tessera.store.db.selectFrom(table).select('kek_version').execute()).map((r) =>
      Number(r.kek_version),
    );
  const storedKeks = async () =>
    (await s.tessera.store.db.selectFrom('secret_keks').select('version').orderBy('version').execute()).map(
      (r) => Number(r.version),
    );

  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s?.close();
    await redis.tearDown(`${run}_`);
    const c = await mysqlRoot();
    const [rows] = await c.query('SELECT User AS u, Host AS h FROM mysql.user WHERE User LIKE ?', [
      `${run}%`,
    ]);
    for (const { u, h } of rows as Array<{ u: string; h: string }>) await c.query('DROP USER ?@?', [u, h]);
    await c.end();
  });

  it('rotate the KEK, re-wrap: the old KEK is destroyed, dynamic and rotated secrets still work', async () => {
    const dynamic = await api('POST', '/v1/dynamic-secrets', {
      name: '/kek/redis',
      type: 'redis',
      settings: redis.settings(`${run}_`),
    });
    expect(dynamic.status, JSON.stringify(dynamic.body)).toBe(201);
    const rotated = await api('POST', '/v1/rotated-secrets', {
      name: '/kek/mariadb',
      type: 'mysql',
      host: '127.0.0.1',
      port: 3306,
      adminUsername: 'root',
      adminPassword: '',
      creationStatements: ["GRANT SELECT ON test.* TO '{{name}}'@'%'"],
      usernames: [`${run}_a`, `${run}_b`],
      graceSeconds: 1,
    });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(201);
    expect(await kekVersions('dynamic_secrets')).toEqual([1]);
    expect(await kekVersions('rotated_secrets')).toEqual([1]);

    const kek = await api('POST', '/v1/sys/kek/rotate', {});
    expect(kek.status).toBe(200);
    expect(kek.body).toMatchObject({ kekVersion: 2, previousKekVersion: 1 });
    expect(kek.body.pendingItems).toBeGreaterThanOrEqual(2);
    await s.tessera.rewrapSecretKeys(); // joins the re-wrap the route started
    // Batches of one cross the kinds; nothing is left under KEK 1.
    await s.tessera.services.secretKeys.rewrapPending(1);
    expect(await kekVersions('dynamic_secrets')).toEqual([2]);
    expect(await kekVersions('rotated_secrets')).toEqual([2]);
    expect((await kekVersions('secrets')).every((v) => v === 2)).toBe(true);
    expect(await storedKeks()).toEqual([2]);
    const status = await api('GET', '/v1/sys/kek');
    expect(status.body.versions).toEqual([{ version: 2, createdAt: expect.any(String), items: 2 }]);

    // A second rotation, re-wrapped in batches of one (the paging crosses the three kinds).
    expect((await api('POST', '/v1/sys/kek/rotate', {})).status).toBe(200);
    await s.tessera.rewrapSecretKeys();
    const report = await s.tessera.services.secretKeys.rewrapPending(1);
    expect(report.failed).toBe(0);
    expect(await storedKeks()).toEqual([3]);
    expect(await kekVersions('dynamic_secrets')).toEqual([3]);
    expect(await kekVersions('rotated_secrets')).toEqual([3]);

    // The dynamic secret's settings unseal: a credential is issued and works, and revokes.
    const lease = await api('POST', '/v1/dynamic-secrets/credentials', { name: '/kek/redis' });
    expect(lease.status, JSON.stringify(lease.body)).toBe(201);
    s.track(lease.body.password);
    const session = await redis.connect(lease.body.username, lease.body.password);
    await session.close();
    expect((await api('POST', '/v1/leases/revoke', { leaseId: lease.body.leaseId })).status).toBe(200);

    // The rotated secret's state unseals: its credential works, and it still rotates.
    const v1 = await value('/kek/mariadb');
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    s.track(v1.body.password);
    expect(await mysqlCanQuery(v1.body.username, v1.body.password)).toBe(true);
    const r = await rotate('/kek/mariadb');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const v2 = await value('/kek/mariadb');
    s.track(v2.body.password);
    expect(v2.body.version).toBe(2);
    expect(await mysqlCanQuery(v2.body.username, v2.body.password)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

const DAY = 86_400;

/** Static secrets through the native API, on both stores (issue 3). */
describe.each(STORES)('static secrets on %s', (store) => {
  let s: TestServer;
  let admin: string;
  const api = (method: string, url: string, body?: unknown, token = admin) =>
    s.call(method, url, { token, ...(body !== undefined ? { body } : {}) });
  const value = (name: string, version?: number) =>
    api('GET', `/v1/secrets/value?name=${encodeURIComponent(name)}${version ? `&version=${version}` : ''}`);
  const describeItem = (name: string) => api('GET', `/v1/secrets/describe?name=${encodeURIComponent(name)}`);
  const events = async (type: string) =>
    (
      await s.tessera.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', type)
        .orderBy('seq')
        .execute()
    ).map((e) => ({ ...e, actor: JSON.parse(e.actor), data: JSON.parse(e.data) }));

  beforeAll(async () => {
    s = await startTestServer(store);
    admin = s.adminToken;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('creates a secret and reads it back; the name is taken', async () => {
    const created = await api('POST', '/v1/secrets', {
      name: '/demo/database-config',
      value: 'postgres://app:pw@db/app',
      description: 'the app database',
      tags: ['prod', 'db', 'prod'],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: '/demo/database-config',
      format: 'text',
      description: 'the app database',
      tags: ['db', 'prod'],
      maxVersions: 100,
      latestVersion: 1,
      deletedAt: null,
      purgeAfter: null,
    });
    expect(created.body.id).toMatch(/^s-/);
    expect(JSON.stringify(created.body)).not.toContain('postgres://');

    const read = await value('/demo/database-config');
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      name: '/demo/database-config',
      version: 1,
      format: 'text',
      value: 'postgres://app:pw@db/app',
      createdAt: created.body.createdAt,
    });

    const again = await api('POST', '/v1/secrets', { name: 'demo/database-config', value: 'x' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TESSERA_CONFLICT');
  });

  it('normalises a name without its leading slash, and reads it by either form', async () => {
    const created = await api('POST', '/v1/secrets', { name: 'plain/no-slash', value: 'v' });
    expect(created.body.name).toBe('/plain/no-slash');
    expect((await value('plain/no-slash')).body.value).toBe('v');
    expect((await value('/plain/no-slash')).body.value).toBe('v');
  });

  it('refuses invalid names with stable codes', async () => {
    for (const name of ['/a//b', '/a/../b', '/a/./b', '/a/', '..', '/']) {
      const r = await api('POST', '/v1/secrets', { name, value: 'v' });
      expect(r.status, name).toBe(400);
      expect(r.body.error.code, name).toBe('TESSERA_SECRET_NAME_INVALID');
    }
    for (const name of ['/a b', '/a?b', '/é', '/a*b', `/${'a'.repeat(600)}`]) {
      const r = await api('POST', '/v1/secrets', { name, value: 'v' });
      expect(r.status, name).toBe(400);
      expect(r.body.error.code, name).toBe('TESSERA_VALIDATION_FAILED');
    }
    const deep = `/${Array.from({ length: 33 }, () => 'd').join('/')}`;
    expect((await api('POST', '/v1/secrets', { name: deep, value: 'v' })).body.error.code).toBe(
      'TESSERA_SECRET_NAME_INVALID',
    );
    expect((await value('/a//b')).body.error.code).toBe('TESSERA_SECRET_NAME_INVALID');
    expect((await value('/missing/item')).body.error.code).toBe('TESSERA_NOT_FOUND');
  });

  it('bounds the value at 64 KiB of UTF-8', async () => {
    const full = 'x'.repeat(64 * 1024);
    const ok = await api('POST', '/v1/secrets', { name: '/size/full', value: full });
    expect(ok.status).toBe(201);
    expect((await value('/size/full')).body.value).toBe(full);
    const updated = await api('POST', '/v1/secrets/versions', {
      name: '/size/full',
      value: `${full.slice(1)}é`,
    });
    expect(updated.status).toBe(413);
    expect(updated.body.error.code).toBe('TESSERA_SECRET_TOO_LARGE');
    // Fewer characters than the bound, more bytes: the service measures bytes.
    const wide = await api('POST', '/v1/secrets', { name: '/size/wide', value: '€'.repeat(30_000) });
    expect(wide.status).toBe(413);
    expect(wide.body.error).toMatchObject({
      code: 'TESSERA_SECRET_TOO_LARGE',
      details: { sizeBytes: 90_000, maxBytes: 65_536 },
    });
    const long = await api('POST', '/v1/secrets', { name: '/size/long', value: 'x'.repeat(64 * 1024 + 1) });
    expect(long.status).toBe(400);
    // JSON escaping does not count against the value: a value of quotes still fits in the body.
    const quotes = await api('POST', '/v1/secrets', { name: '/size/quotes', value: '"'.repeat(60_000) });
    expect(quotes.status).toBe(201);
    const huge = await api('POST', '/v1/secrets', { name: '/size/huge', value: '\u0001'.repeat(60_000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('TESSERA_PAYLOAD_TOO_LARGE');
  });

  it('keeps JSON values JSON', async () => {
    const doc = JSON.stringify({ user: 'app', password: 'pw', port: 5432 });
    const created = await api('POST', '/v1/secrets', { name: '/json/db', value: doc, format: 'json' });
    expect(created.status).toBe(201);
    expect((await value('/json/db')).body).toMatchObject({ format: 'json', value: doc });
    const bad = await api('POST', '/v1/secrets', {
      name: '/json/bad',
      value: '{"user": "app",',
      format: 'json',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TESSERA_SECRET_VALUE_INVALID');
    expect(JSON.stringify(bad.body)).not.toContain('user');
    const badUpdate = await api('POST', '/v1/secrets/versions', { name: '/json/db', value: 'not json' });
    expect(badUpdate.body.error.code).toBe('TESSERA_SECRET_VALUE_INVALID');
    expect((await describeItem('/json/db')).body.latestVersion).toBe(1);
  });

  it('writes versions, reads any kept one, and refuses a stale expectedVersion', async () => {
    await api('POST', '/v1/secrets', { name: '/versions/api-key', value: 'v1' });
    const v2 = await api('POST', '/v1/secrets/versions', { name: '/versions/api-key', value: 'v2' });
    expect(v2.status).toBe(200);
    expect(v2.body.latestVersion).toBe(2);
    const v3 = await api('POST', '/v1/secrets/versions', {
      name: '/versions/api-key',
      value: 'v3',
      expectedVersion: 2,
    });
    expect(v3.body.latestVersion).toBe(3);
    const stale = await api('POST', '/v1/secrets/versions', {
      name: '/versions/api-key',
      value: 'v4',
      expectedVersion: 2,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'TESSERA_CONFLICT', details: { latestVersion: 3 } });
    expect((await value('/versions/api-key')).body).toMatchObject({ version: 3, value: 'v3' });
    expect((await value('/versions/api-key', 1)).body).toMatchObject({ version: 1, value: 'v1' });
    expect((await value('/versions/api-key', 2)).body.value).toBe('v2');
    const missing = await value('/versions/api-key', 9);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'TESSERA_NOT_FOUND', details: { version: 9 } });
    const unknown = await api('POST', '/v1/secrets/versions', { name: '/versions/none', value: 'x' });
    expect(unknown.body.error.code).toBe('TESSERA_NOT_FOUND');
  });

  it('keeps only the last maxVersions versions and destroys the older ciphertexts', async () => {
    const created = await api('POST', '/v1/secrets', {
      name: '/versions/rolling',
      value: 'r1',
      maxVersions: 2,
    });
    for (const v of ['r2', 'r3', 'r4'])
      await api('POST', '/v1/secrets/versions', { name: '/versions/rolling', value: v });
    const d = await describeItem('/versions/rolling');
    expect(d.body.versions.map((v: { version: number }) => v.version)).toEqual([3, 4]);
    expect(d.body.versions[0]).toMatchObject({ sizeBytes: 2 });
    expect((await value('/versions/rolling', 2)).status).toBe(404);
    expect((await value('/versions/rolling', 3)).body.value).toBe('r3');
    const rows = await s.tessera.store.db
      .selectFrom('secret_versions')
      .select('version')
      .where('secret_id', '=', created.body.id)
      .execute();
    expect(rows.map((r) => Number(r.version)).sort()).toEqual([3, 4]);
    const updated = await events('secret.updated');
    expect(updated.at(-1)!.data).toMatchObject({
      secretId: created.body.id,
      version: 4,
      destroyedVersions: 1,
    });
  });

  it('reads several values at once, in the order asked, all or nothing', async () => {
    await api('POST', '/v1/secrets', { name: '/many/a', value: 'A' });
    await api('POST', '/v1/secrets', { name: '/many/b', value: 'B' });
    const both = await api('POST', '/v1/secrets/values', { names: ['/many/b', 'many/a', '/many/b'] });
    expect(both.status).toBe(200);
    expect(both.body.items.map((i: { name: string; value: string }) => [i.name, i.value])).toEqual([
      ['/many/b', 'B'],
      ['/many/a', 'A'],
    ]);
    const missing = await api('POST', '/v1/secrets/values', { names: ['/many/a', '/many/zz'] });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'TESSERA_NOT_FOUND', details: { name: '/many/zz' } });
    expect((await api('POST', '/v1/secrets/values', { names: [] })).status).toBe(400);
  });

  it('lists a folder: recursively or not, with sub-folders, paged by cursor', async () => {
    for (const name of ['/list/a', '/list/b/c', '/list/b/d', '/list/e/f/g', '/list-x', '/listing/z'])
      await api('POST', '/v1/secrets', { name, value: 'v' });
    const all = await api('GET', '/v1/secrets?prefix=/list');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { name: string }) => i.name)).toEqual([
      '/list/a',
      '/list/b/c',
      '/list/b/d',
      '/list/e/f/g',
    ]);
    expect(all.body.folders).toEqual(['/list/b', '/list/e']);
    expect(all.body.nextCursor).toBeNull();
    expect(JSON.stringify(all.body)).not.toContain('"value"');

    const flat = await api('GET', '/v1/secrets?prefix=list/&recursive=false');
    expect(flat.body.items.map((i: { name: string }) => i.name)).toEqual(['/list/a']);
    expect(flat.body.folders).toEqual(['/list/b', '/list/e']);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: any } = await api(
        'GET',
        `/v1/secrets?prefix=/list&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      if (pages > 0) expect(page.body.folders).toEqual([]);
      seen.push(...page.body.items.map((i: { name: string }) => i.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['/list/a', '/list/b/c', '/list/b/d', '/list/e/f/g']);

    const root = await api('GET', '/v1/secrets?limit=500');
    expect(root.body.folders).toEqual(expect.arrayContaining(['/demo', '/list', '/listing']));
    expect(root.body.items.map((i: { name: string }) => i.name)).toContain('/list-x');
  });

  it('describes an item without its value', async () => {
    const d = await describeItem('/demo/database-config');
    expect(d.status).toBe(200);
    expect(Object.keys(d.body).sort()).toEqual(
      [
        'approval',
        'createdAt',
        'deletedAt',
        'description',
        'format',
        'id',
        'latestVersion',
        'maxVersions',
        'name',
        'purgeAfter',
        'tags',
        'type',
        'updatedAt',
        'versions',
      ].sort(),
    );
    expect(d.body.versions).toEqual([{ version: 1, sizeBytes: 24, createdAt: d.body.createdAt }]);
    expect(JSON.stringify(d.body)).not.toContain('postgres://');
    expect((await describeItem('/nope')).status).toBe(404);
  });

  it('allows only what the caller’s rules allow; listings show only what it may list', async () => {
    const { root } = await uidSetup(s);
    const session = (await uidAuth(s, root.token)).body.token;
    const denied = await api('GET', '/v1/secrets/value?name=/demo/database-config', undefined, session);
    expect(denied.status).toBe(403);
    expect((await api('POST', '/v1/secrets', { name: '/x/y', value: 'v' }, session)).status).toBe(403);
    expect((await api('POST', '/v1/secrets/values', { names: ['/many/a'] }, session)).status).toBe(403);
    const listing = await api('GET', '/v1/secrets', undefined, session);
    expect(listing.status).toBe(200);
    expect(listing.body).toEqual({ items: [], folders: [], nextCursor: null });
    expect((await api('POST', '/v1/sys/kek/rotate', {}, session)).status).toBe(403);
  });

  it('deletes with a recovery window, restores, and purges after the window', async () => {
    const created = await api('POST', '/v1/secrets', { name: '/trash/token', value: 'T1' });
    const deleted = await api('DELETE', '/v1/secrets?name=/trash/token');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ name: '/trash/token', purged: false, versionsDestroyed: 0 });
    expect(Date.parse(deleted.body.purgeAfter) - Date.parse(deleted.body.deletedAt)).toBe(7 * DAY * 1000);
    expect((await value('/trash/token')).status).toBe(404);
    expect((await api('POST', '/v1/secrets/versions', { name: '/trash/token', value: 'x' })).status).toBe(
      404,
    );
    expect((await describeItem('/trash/token')).body.deletedAt).toBe(deleted.body.deletedAt);
    const names = (r: { body: any }) => r.body.items.map((i: { name: string }) => i.name);
    expect(names(await api('GET', '/v1/secrets?prefix=/trash'))).toEqual([]);
    expect(names(await api('GET', '/v1/secrets?prefix=/trash&includeDeleted=true'))).toEqual([
      '/trash/token',
    ]);
    const taken = await api('POST', '/v1/secrets', { name: '/trash/token', value: 'x' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toContain('restore');
    // Deleting it again changes nothing.
    expect((await api('DELETE', '/v1/secrets?name=/trash/token&recoveryDays=1')).body.purgeAfter).toBe(
      deleted.body.purgeAfter,
    );

    const restored = await api('POST', '/v1/secrets/restore', { name: '/trash/token' });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ deletedAt: null, purgeAfter: null, latestVersion: 1 });
    expect((await value('/trash/token')).body.value).toBe('T1');
    expect((await api('POST', '/v1/secrets/restore', { name: '/trash/token' })).status).toBe(409);

    const again = await api('DELETE', '/v1/secrets?name=/trash/token&recoveryDays=2');
    expect(Date.parse(again.body.purgeAfter) - Date.parse(again.body.deletedAt)).toBe(2 * DAY * 1000);
    s.clock.advance(2 * DAY - 1);
    admin = await adminSession(s); // the clock moved past the first session's expiry
    expect(await s.tessera.services.secrets.purgeExpired(s.clock.nowMs())).toBe(0);
    expect((await describeItem('/trash/token')).status).toBe(200);
    s.clock.advance(1);
    expect(await s.tessera.services.secrets.purgeExpired(s.clock.nowMs())).toBe(1);
    expect((await describeItem('/trash/token')).status).toBe(404);
    const left = await s.tessera.store.db
      .selectFrom('secret_versions')
      .select('version')
      .where('secret_id', '=', created.body.id)
      .execute();
    expect(left).toEqual([]);
    const purged = await events('secret.purged');
    expect(purged.at(-1)).toMatchObject({
      resource: '/trash/token',
      data: { secretId: created.body.id, versionsDestroyed: 1 },
    });
    // The name is free again.
    expect((await api('POST', '/v1/secrets', { name: '/trash/token', value: 'T2' })).status).toBe(201);
    expect((await value('/trash/token')).body).toMatchObject({ version: 1, value: 'T2' });
  });

  it('deletes immediately', async () => {
    await api('POST', '/v1/secrets', { name: '/trash/now', value: 'N' });
    const gone = await api('DELETE', '/v1/secrets?name=/trash/now&immediately=true');
    expect(gone.body).toMatchObject({ purged: true, purgeAfter: null, versionsDestroyed: 1 });
    expect((await describeItem('/trash/now')).status).toBe(404);
    expect((await api('POST', '/v1/secrets/restore', { name: '/trash/now' })).status).toBe(404);
    expect((await api('DELETE', '/v1/secrets?name=/trash/now')).status).toBe(404);
    // A deleted item can be destroyed at once too, freeing its name.
    await api('POST', '/v1/secrets', { name: '/trash/later', value: 'L' });
    await api('DELETE', '/v1/secrets?name=/trash/later');
    expect((await api('DELETE', '/v1/secrets?name=/trash/later&immediately=true')).body.purged).toBe(true);
    expect((await api('POST', '/v1/secrets', { name: '/trash/later', value: 'L2' })).status).toBe(201);
  });

  it('audits every change and every read, never the value', async () => {
    const created = await api('POST', '/v1/secrets', { name: '/audited/x', value: 'audited-value-1' });
    await api('POST', '/v1/secrets/versions', { name: '/audited/x', value: 'audited-value-2' });
    await value('/audited/x', 1);
    await api('POST', '/v1/secrets/values', { names: ['/audited/x'] });
    const reads = (await events('secret.read')).filter((e) => e.resource === '/audited/x');
    expect(reads.map((e) => e.data.version)).toEqual([1, 2]);
    expect(reads[0]!.actor.identityId).toBeTruthy();
    expect(reads[0]!.data.secretId).toBe(created.body.id);
    const all = JSON.stringify(await s.tessera.store.db.selectFrom('audit_events').selectAll().execute());
    expect(all).not.toContain('audited-value');
  });
});

import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { systemContext } from '../src/core/shared/context.js';
import { rotateRootKeyOffline } from '../src/root-key.rotation.js';
import { createTessera, verifyAuditLedgerOffline } from '../src/server.js';
import { freshPostgresDatabase, STORES, startTestServer, type TestServer } from './harness.js';

const COUNT = 240;

/** Rotation of the key-encryption key while reads go on (ADR 0007). */
describe.each(STORES)('KEK rotation on %s', (store) => {
  let s: TestServer;
  const name = (i: number) => `/fleet/svc-${String(i).padStart(3, '0')}/password`;
  const expected = (i: number) => `pw-${i}-${'z'.repeat(i % 7)}`;
  const read = (i: number) =>
    s.call('GET', `/v1/secrets/value?name=${encodeURIComponent(name(i))}`, { token: s.adminToken });
  const kekOf = async () =>
    (await s.tessera.store.db.selectFrom('secrets').select('kek_version').execute()).map((r) =>
      Number(r.kek_version),
    );
  const storedKeks = async () =>
    (await s.tessera.store.db.selectFrom('secret_keks').select('version').orderBy('version').execute()).map(
      (r) => Number(r.version),
    );

  beforeAll(async () => {
    s = await startTestServer(store);
    for (let i = 0; i < COUNT; i += 60) {
      await Promise.all(
        Array.from({ length: 60 }, (_, k) =>
          s.call('POST', '/v1/secrets', {
            token: s.adminToken,
            body: { name: name(i + k), value: expected(i + k) },
          }),
        ),
      );
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it('starts with one KEK wrapping every data key', async () => {
    const status = await s.call('GET', '/v1/sys/kek', { token: s.adminToken });
    expect(status.body).toEqual({
      activeVersion: 1,
      versions: [{ version: 1, createdAt: expect.any(String), items: COUNT }],
    });
  });

  it('rotates: new keys under the new KEK at once, old rows readable, the job re-wraps, the old KEK goes', async () => {
    const rotated = await s.call('POST', '/v1/sys/kek/rotate', { token: s.adminToken, body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ kekVersion: 2, previousKekVersion: 1, pendingItems: COUNT });
    // The route started the re-wrap in the background; wait for it.
    await s.tessera.rewrapSecretKeys();
    expect(new Set(await kekOf())).toEqual(new Set([2]));
    expect(await storedKeks()).toEqual([2]);
    for (const i of [0, 17, COUNT - 1]) expect((await read(i)).body.value).toBe(expected(i));
    const types = (
      await s.tessera.store.db.selectFrom('audit_events').select(['type', 'data']).execute()
    ).filter((e) => e.type.startsWith('secret.kek.'));
    expect(types.map((e) => e.type)).toEqual([
      'secret.kek.rotated',
      'secret.kek.rotated',
      'secret.kek.rewrapped',
      'secret.kek.rewrapped',
      'secret.kek.destroyed',
    ]);
    expect(JSON.parse(types.at(-1)!.data)).toMatchObject({ kekVersion: 1, activeKekVersion: 2 });
  });

  it('keeps every value readable while a rotation is re-wrapped in small batches', async () => {
    const keys = s.tessera.services.secretKeys;
    await keys.rotate(systemContext('test'));
    // Mixed state: old rows under KEK 2, a new one under KEK 3; both kinds read.
    await s.call('POST', '/v1/secrets', {
      token: s.adminToken,
      body: { name: '/fleet/new', value: 'fresh' },
    });
    const kinds = await kekOf();
    expect(kinds.filter((v) => v === 3)).toHaveLength(1);
    expect(kinds.filter((v) => v === 2)).toHaveLength(COUNT);
    expect(await storedKeks()).toEqual([2, 3]);
    expect((await keys.status()).versions.map((v) => [v.version, v.items])).toEqual([
      [2, COUNT],
      [3, 1],
    ]);

    let done = false;
    let reads = 0;
    const failures: string[] = [];
    const reader = async () => {
      for (let i = 0; !done; i = (i + 37) % COUNT) {
        const r = await read(i);
        reads++;
        if (r.status !== 200 || r.body.value !== expected(i))
          failures.push(`${i}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    };
    const readers = Promise.all([reader(), reader(), reader()]);
    const report = await keys.rewrapPending(16);
    done = true;
    await readers;
    expect(report).toEqual({ rewrapped: COUNT, failed: 0, destroyed: [2] });
    expect(failures).toEqual([]);
    // Reads went on between the batches (16 batches of 16 re-wraps).
    expect(reads).toBeGreaterThanOrEqual(16);
    expect(new Set(await kekOf())).toEqual(new Set([3]));
    expect(await storedKeks()).toEqual([3]);
    expect((await read(5)).body.value).toBe(expected(5));
    // Nothing to do: no write, no event.
    const before = await s.tessera.store.db.selectFrom('audit_events').select('seq').execute();
    expect(await keys.rewrapPending()).toEqual({ rewrapped: 0, failed: 0, destroyed: [] });
    expect(await s.tessera.store.db.selectFrom('audit_events').select('seq').execute()).toHaveLength(
      before.length,
    );
  });

  it('re-wrapping on a second server of the same store loads the KEKs it has not seen (PostgreSQL)', async () => {
    if (store !== 'postgres') return;
    const peer = await startTestServer(
      store,
      { TESSERA_ROOT_KEY: readFileSync(join(s.dataDir, 'root.key'), 'utf8').trim() },
      { storeUrl: s.config.storeUrl, adminAccessKey: s.adminAccessKey },
    );
    try {
      await s.tessera.services.secretKeys.rotate(systemContext('test'));
      // The peer learns KEK 4 from the store when it first needs it.
      const created = await peer.call('POST', '/v1/secrets', {
        token: peer.adminToken,
        body: { name: '/fleet/from-peer', value: 'peer' },
      });
      expect(created.status).toBe(201);
      expect((await read(3)).body.value).toBe(expected(3));
      expect(await peer.tessera.services.secretKeys.rewrapPending()).toMatchObject({ rewrapped: COUNT + 1 });
      const fromPeer = await s.call('GET', '/v1/secrets/value?name=/fleet/from-peer', {
        token: s.adminToken,
      });
      expect(fromPeer.body.value).toBe('peer');
      expect(await storedKeks()).toEqual([4]);
    } finally {
      // The peer shares the database: it must not drop it.
      await peer.tessera.close();
    }
  });
});

/** Replacing the root key offline: everything sealed under it is re-sealed; nothing else changes. */
describe.each(STORES)('root-key rotation on %s', (store) => {
  let dataDir: string;
  let pg: Awaited<ReturnType<typeof freshPostgresDatabase>> | null = null;
  const config = (env: Record<string, string> = {}) =>
    loadConfig(
      { dataDir, port: 0, logLevel: 'silent', ...(pg ? { storeUrl: pg.url } : {}) },
      { TESSERA_ISSUER: 'http://tessera.test', ...env },
    );
  const keyFile = () => join(dataDir, 'root.key');

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-rootkey-'));
    pg = store === 'postgres' ? await freshPostgresDatabase() : null;
  });
  afterAll(async () => {
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function withServer<T>(fn: (t: Awaited<ReturnType<typeof createTessera>>) => Promise<T>, env = {}) {
    const t = await createTessera(config(env), { logger: false });
    try {
      return await fn(t);
    } finally {
      await t.close();
    }
  }

  it('re-seals the signing keys and KEKs, keeps values, sessions, the audit chain and audit hashes', async () => {
    const before = await withServer(async (t) => {
      const admin = await t.ensureAdmin();
      await t.services.secrets.create({ name: '/rk/db', value: 'root-key-survivor' }, systemContext('test'));
      await t.services.secrets.update('/rk/db', 'root-key-survivor-2', {}, systemContext('test'));
      return {
        admin,
        jwks: JSON.stringify((await t.app.inject({ url: '/.well-known/jwks.json' })).json()),
        hash: t.services.audit.hash('some credential'),
        ledger: await t.ledger.verify(),
      };
    });
    expect(before.ledger.ok).toBe(true);
    const oldKey = readFileSync(keyFile(), 'utf8');

    const rotation = await rotateRootKeyOffline(config());
    expect(rotation).toMatchObject({
      finishedInterrupted: false,
      keyFile: keyFile(),
      resealed: { signingKeys: 1, keks: 1, sealedKeys: 1 },
    });
    expect(rotation.keyId).not.toBe(rotation.previousKeyId);
    expect(readFileSync(keyFile(), 'utf8')).not.toBe(oldKey);
    expect(existsSync(`${keyFile()}.next`)).toBe(false);

    await withServer(async (t) => {
      expect((await t.services.secrets.getValue('/rk/db', null, systemContext('test'))).value).toBe(
        'root-key-survivor-2',
      );
      expect((await t.services.secrets.getValue('/rk/db', 1, systemContext('test'))).value).toBe(
        'root-key-survivor',
      );
      // The same signing key, unsealed with the new root key: sign-in works and the JWKS is unchanged.
      expect(JSON.stringify((await t.app.inject({ url: '/.well-known/jwks.json' })).json())).toBe(
        before.jwks,
      );
      const auth = await t.app.inject({
        method: 'POST',
        url: '/v1/auth',
        payload: {
          accessType: 'access_key',
          accessId: before.admin.accessId,
          accessKey: before.admin.accessKey,
        },
      });
      expect(auth.statusCode).toBe(200);
      expect(t.services.audit.hash('some credential')).toBe(before.hash);
      const report = await t.ledger.verify();
      expect(report.ok).toBe(true);
      const rotated = await t.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', 'root_key.rotated')
        .execute();
      expect(rotated).toHaveLength(1);
      expect(JSON.parse(rotated[0]!.data)).toMatchObject({
        previousKeyId: rotation.previousKeyId,
        keyId: rotation.keyId,
      });
    });
    expect((await verifyAuditLedgerOffline(config())).ok).toBe(true);
    // The old key opens nothing any more.
    await expect(
      createTessera(config({ TESSERA_ROOT_KEY: oldKey.trim() }), { logger: false }),
    ).rejects.toThrow(/sealed under root key/);
  });

  it('rotates again (the audit-key seed is re-sealed, not replaced), and finishes an interrupted rotation', async () => {
    const second = await rotateRootKeyOffline(config());
    expect(second.resealed).toEqual({ signingKeys: 1, keks: 1, sealedKeys: 1 });
    // A third rotation that committed but died before swapping the key file.
    const current = readFileSync(keyFile(), 'utf8');
    const third = await rotateRootKeyOffline(config());
    renameSync(keyFile(), `${keyFile()}.next`);
    writeFileSync(keyFile(), current, { mode: 0o600 });
    await expect(createTessera(config(), { logger: false })).rejects.toThrow(
      /interrupted `tessera root-key rotate`/,
    );
    const finished = await rotateRootKeyOffline(config());
    expect(finished).toMatchObject({ finishedInterrupted: true, keyId: third.keyId });
    await withServer(async (t) => {
      expect((await t.services.secrets.getValue('/rk/db', null, systemContext('test'))).value).toBe(
        'root-key-survivor-2',
      );
      expect((await t.ledger.verify()).ok).toBe(true);
    });
  });

  it('with TESSERA_ROOT_KEY, writes the new key to the file named, and leaves the environment to the operator', async () => {
    const current = readFileSync(keyFile(), 'utf8').trim();
    await expect(rotateRootKeyOffline(config({ TESSERA_ROOT_KEY: current }))).rejects.toThrow(
      /--new-key-file/,
    );
    const out = join(dataDir, 'new-root-key');
    const rotation = await rotateRootKeyOffline(config({ TESSERA_ROOT_KEY: current }), { newKeyFile: out });
    expect(rotation.keyFile).toBe(out);
    await withServer(
      async (t) => {
        expect((await t.services.secrets.getValue('/rk/db', null, systemContext('test'))).value).toBe(
          'root-key-survivor-2',
        );
      },
      { TESSERA_ROOT_KEY: readFileSync(out, 'utf8').trim() },
    );
  });
});

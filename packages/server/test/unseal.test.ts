import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootKeyFromBase64 } from '../src/crypto/root-key.js';
import { split } from '../src/crypto/shamir.js';
import { removeRootKeyFile, splitRootKeyOffline } from '../src/unseal/root-key-split.js';
import {
  chooseStartMode,
  startServerOrSealed,
  storeSealingKeyIds,
  type UnsealableServer,
} from '../src/unseal/sealed-start.js';
import { freshPostgresDatabase, startTestServer } from './harness.js';
import { http, type PreparedDataDir, prepareDataDir } from './unseal.helpers.js';

/** Sealed start and unsealing with 3 of 5 root-key shares (ADR 0012), over real HTTP. */
describe('unseal with k-of-n root-key shares', () => {
  let prepared: PreparedDataDir;
  let shares: string[];
  let keyId: string;
  let keyMaterial: Buffer;
  let server: UnsealableServer | null = null;

  beforeAll(async () => {
    prepared = await prepareDataDir();
    keyMaterial = Buffer.from(readFileSync(join(prepared.dataDir, 'root.key'), 'utf8').trim(), 'base64');
    const result = await splitRootKeyOffline(prepared.config, { shares: 5, threshold: 3 });
    shares = result.shares;
    keyId = result.keyId;
    removeRootKeyFile(prepared.dataDir);
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    rmSync(prepared.dataDir, { recursive: true, force: true });
  });

  it('split: 5 shares naming the key; the key file is gone', () => {
    expect(shares).toHaveLength(5);
    for (const share of shares) expect(share).toMatch(new RegExp(`^tessera-share-[1-5]-3-${keyId}-`));
    expect(existsSync(join(prepared.dataDir, 'root.key'))).toBe(false);
  });

  it('without a key but with a sealed store, the server starts sealed; --sealed with a key file is refused', async () => {
    expect(await chooseStartMode(prepared.config)).toEqual({ sealed: true, storeKeyIds: new Set([keyId]) });
    await expect(
      chooseStartMode({
        ...prepared.config,
        sealed: true,
        rootKeyBase64: randomBytes(32).toString('base64'),
      }),
    ).rejects.toThrow(/exclude each other/);
  });

  it('answers sealed until 3 shares arrive, refuses foreign shares, then serves with the rebuilt key', async () => {
    server = await startServerOrSealed(prepared.config, { logger: false });
    expect(server.sealed).toBe(true);
    const url = server.url;

    const refused = await http(url, 'POST', '/v1/auth', { accessType: 'access_key', ...prepared.admin });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TESSERA_SEALED');
    expect((await http(url, 'GET', '/v1/identities')).body.error.code).toBe('TESSERA_SEALED');
    const health = await http(url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.sealed).toBe(true);
    const ready = await http(url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('TESSERA_SEALED');
    expect((await http(url, 'GET', '/v1/sys/seal-status')).body).toEqual({
      sealed: true,
      threshold: null,
      progress: 0,
      keyId,
    });

    const submit = (share: string) => http(url, 'POST', '/v1/sys/unseal', { share });
    // Two shares: still sealed.
    expect((await submit(shares[0]!)).body).toEqual({ sealed: true, threshold: 3, progress: 1, keyId });
    expect((await submit(shares[3]!)).body).toEqual({ sealed: true, threshold: 3, progress: 2, keyId });
    expect(
      (await http(url, 'POST', '/v1/auth', { accessType: 'access_key', ...prepared.admin })).status,
    ).toBe(503);
    // A share of another key, a repeated one, a typo, not JSON: 400, progress kept.
    const foreign = await submit(split(randomBytes(32), 5, 3)[2]!);
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('TESSERA_UNSEAL_SHARE_INVALID');
    const again = await submit(shares[0]!);
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('TESSERA_UNSEAL_SHARE_INVALID');
    const typo = await submit(
      `${shares[1]!.slice(0, 40)}${shares[1]![40] === 'A' ? 'B' : 'A'}${shares[1]!.slice(41)}`,
    );
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toMatch(/checksum|malformed/);
    const junk = await http(url, 'POST', '/v1/sys/unseal', '{"share":');
    expect(junk.status).toBe(400);
    expect((await http(url, 'POST', '/v1/sys/unseal', { share: 'x', extra: 1 })).status).toBe(400);
    expect((await http(url, 'GET', '/v1/sys/seal-status')).body.progress).toBe(2);

    // The third share rebuilds the key: the answer says unsealed, then the normal server takes the port.
    const third = await submit(shares[4]!);
    expect(third.status).toBe(200);
    expect(third.body).toEqual({ sealed: false, threshold: 3, progress: 3, keyId });
    const running = await server.ready;
    expect(running.url).toBe(url);

    const auth = await http(url, 'POST', '/v1/auth', { accessType: 'access_key', ...prepared.admin });
    expect(auth.status).toBe(200);
    const value = await http(
      url,
      'GET',
      `/v1/secrets/value?name=${encodeURIComponent(prepared.secretName)}`,
      undefined,
      auth.body.token,
    );
    expect(value.status).toBe(200);
    expect(value.body.value).toBe(prepared.secretValue);
    expect((await http(url, 'GET', '/readyz')).status).toBe(200);
    // The key stayed in memory: nothing was written back to the data dir.
    expect(existsSync(join(prepared.dataDir, 'root.key'))).toBe(false);
    await server.close();
    server = null;
  }, 60_000);

  it('shares of two different splits of the key rebuild nothing: 400 and progress reset', async () => {
    server = await startServerOrSealed(prepared.config, { logger: false });
    const url = server.url;
    const submit = (share: string) => http(url, 'POST', '/v1/sys/unseal', { share });
    // Same key id, threshold and length, but another polynomial: only the combination can tell.
    const otherSplit = split(keyMaterial, 5, 3);
    expect((await submit(shares[0]!)).status).toBe(200);
    expect((await submit(shares[1]!)).status).toBe(200);
    const mixed = await submit(otherSplit[2]!);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.code).toBe('TESSERA_UNSEAL_KEY_MISMATCH');
    expect((await http(url, 'GET', '/v1/sys/seal-status')).body).toMatchObject({ sealed: true, progress: 0 });
    // Start again with shares of one split: unsealed.
    for (const share of [otherSplit[0]!, otherSplit[4]!])
      expect((await submit(share)).body.sealed).toBe(true);
    expect((await submit(otherSplit[1]!)).body.sealed).toBe(false);
    await server.ready;
    expect(
      (await http(url, 'POST', '/v1/auth', { accessType: 'access_key', ...prepared.admin })).status,
    ).toBe(200);
    await server.close();
    server = null;
  }, 60_000);
});

describe('sealed start on PostgreSQL', () => {
  it('a fresh database is not sealed; once a server sealed rows under a key, its id is what shares must name', async () => {
    const fresh = await freshPostgresDatabase();
    try {
      expect(await storeSealingKeyIds(fresh.url)).toEqual(new Set());
    } finally {
      await fresh.drop();
    }
    const s = await startTestServer('postgres');
    try {
      const keyFile = join(s.dataDir, 'root.key');
      const keyId = rootKeyFromBase64(readFileSync(keyFile, 'utf8')).id;
      expect(await storeSealingKeyIds(s.config.storeUrl)).toEqual(new Set([keyId]));
      expect(await chooseStartMode(s.config)).toEqual({ sealed: false });
      rmSync(keyFile);
      expect(await chooseStartMode(s.config)).toEqual({ sealed: true, storeKeyIds: new Set([keyId]) });
    } finally {
      await s.close();
    }
  }, 90_000);
});

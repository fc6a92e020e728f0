import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin, readAdmin, run, startServerProcess } from './server-process.js';

/**
 * Issue 19: `tessera backup` while the server serves writes, `tessera restore` into a new data
 * directory (root key kept apart), and the restored server: its audit chain verifies, its secrets
 * decrypt, and tokens issued before the backup behave as the restored state says.
 */
describe('tessera backup and restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-backup-'));
  // Both servers (the original and the restored one, on another port) are the same issuer.
  const issuer = process.env.TESSERA_ISSUER;
  process.env.TESSERA_ISSUER = 'http://tessera.backup.test';
  afterAll(() => {
    if (issuer === undefined) delete process.env.TESSERA_ISSUER;
    else process.env.TESSERA_ISSUER = issuer;
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up online, restores, verifies, and serves the restored state', async () => {
    const dataDir = join(dir, 'data');
    let server = await startServerProcess(dataDir);
    const api = async (method: string, path: string, body?: unknown, token?: string) => {
      const r = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    };
    const admin = readAdmin(dataDir);
    const adminToken = (await api('POST', '/v1/auth', { accessType: 'access_key', ...admin })).body.token;
    expect(
      (await api('POST', '/v1/secrets', { name: '/bk/kept', value: 's3cret-kept' }, adminToken)).status,
    ).toBe(201);
    // A UID session revoked before the backup, and the admin session (valid at backup time).
    expect(
      (await api('POST', '/v1/auth-methods', { type: 'universal_identity', name: '/bk/uid' }, adminToken))
        .status,
    ).toBe(201);
    const root = (await api('POST', '/v1/uid/tokens', { authMethodName: '/bk/uid' }, adminToken)).body.token;
    const uidSession = (await api('POST', '/v1/auth', { accessType: 'universal_identity', uidToken: root }))
      .body.token;
    expect((await api('POST', '/v1/uid/revoke', { type: 'all' }, root)).status).toBe(200);

    // Online: writes go on while the backup runs.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const r = await api('POST', '/v1/secrets', { name: `/bk/live-${written}`, value: 'v' }, adminToken);
        if (r.status === 201) written++;
      }
    })();
    const out = join(dir, 'backup');
    const env = { ...process.env, NO_COLOR: '1' };
    const b = await run(
      process.execPath,
      [bin, 'backup', '--data-dir', dataDir, '--out', out, '--json'],
      env,
    );
    writing = false;
    await writer;
    expect(b.code, b.stderr).toBe(0);
    const manifest = JSON.parse(b.stdout);
    expect(manifest.includesRootKey).toBe(false);
    expect(Object.keys(manifest.files)).toContain('tessera.db');
    expect(manifest.lastAuditSeq).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(0);
    // After the backup: a change the restored state will not have.
    expect((await api('POST', '/v1/secrets', { name: '/bk/later', value: 'later' }, adminToken)).status).toBe(
      201,
    );
    await server.stop();

    // Restore into a new data directory; the root key comes apart from the backup.
    const restored = join(dir, 'restored');
    const rootKey = readFileSync(join(dataDir, 'root.key'), 'utf8').trim();
    const keyEnv = { ...env, TESSERA_ROOT_KEY: rootKey };
    const r = await run(
      process.execPath,
      [bin, 'restore', '--from', out, '--data-dir', restored, '--json'],
      keyEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.audit).toMatchObject({ ok: true, problem: null });
    expect(report.audit.checkedEvents).toBeGreaterThanOrEqual(manifest.lastAuditSeq);
    // Restoring over it again is refused without --force; a damaged backup is refused outright.
    const again = await run(
      process.execPath,
      [bin, 'restore', '--from', out, '--data-dir', restored],
      keyEnv,
    );
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--force/);

    const previous = process.env.TESSERA_ROOT_KEY;
    process.env.TESSERA_ROOT_KEY = rootKey;
    try {
      server = await startServerProcess(restored);
    } finally {
      if (previous === undefined) delete process.env.TESSERA_ROOT_KEY;
      else process.env.TESSERA_ROOT_KEY = previous;
    }
    try {
      // Tokens issued before the backup: the admin session is valid, the revoked UID session is not.
      const kept = await api('GET', '/v1/secrets/value?name=/bk/kept', undefined, adminToken);
      expect(kept.status).toBe(200);
      expect(kept.body.value).toBe('s3cret-kept');
      expect((await api('GET', '/v1/secrets/value?name=/bk/later', undefined, adminToken)).status).toBe(404);
      expect((await api('GET', '/v1/identities?limit=1', undefined, uidSession)).status).toBe(401);
      expect(
        (await api('POST', '/v1/auth', { accessType: 'universal_identity', uidToken: root })).status,
      ).toBe(401);
      const verify = await api('POST', '/v1/audit/verify', {}, adminToken);
      expect(verify.status, JSON.stringify(verify.body)).toBe(200);
      expect(verify.body.ok).toBe(true);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/crypto/credentials.js';
import { openStore } from '../src/storage/database.js';
import { initialMigration } from '../src/storage/migrations/0001-initial.js';
import { auditAnchorsMigration } from '../src/storage/migrations/0002-audit-anchors.js';
import { freshPostgresDatabase, STORES, startTestServer } from './harness.js';

/**
 * ADR 0008: a data directory from before roles had its administrator as a flag on the auth method
 * (`is_admin = 1`). Migration 0004 associates such methods with the built-in role, so the
 * administrator keeps every right after the upgrade, and nobody else gains any.
 */
describe.each(STORES)('upgrading a %s store from before roles', (store) => {
  it('associates the old administrator method with tessera-admin, and only it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-upgrade-'));
    const pgDb = store === 'postgres' ? await freshPostgresDatabase() : null;
    const url = pgDb?.url ?? `sqlite:${join(dir, 'old.db')}`;
    const accessKey = `tak-${'k'.repeat(43)}`;
    try {
      const old = openStore(url);
      const migrator = new Migrator({
        db: old.db,
        provider: {
          getMigrations: async () => ({
            '0001-initial': initialMigration(store),
            '0002-audit-anchors': auditAnchorsMigration(),
          }),
        },
        migrationTableName: 'tessera_migrations',
        migrationLockTableName: 'tessera_migrations_lock',
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const at = Date.UTC(2026, 0, 1);
      const method = (id: string, name: string, isAdmin: boolean) => ({
        id,
        name,
        type: 'access_key',
        identity_id: 'i-old',
        settings: JSON.stringify({ jwtTtlSeconds: 3600 }),
        secret_hash: sha256Hex(accessKey),
        is_admin: isAdmin ? 1 : 0,
        bound_cidrs: '[]',
        expires_at: null,
        created_at: at,
        updated_at: at,
      });
      await old.db
        .insertInto('identities')
        .values({
          id: 'i-old',
          name: 'tessera-admin',
          kind: 'service',
          owner: 'bootstrap',
          environment: null,
          description: null,
          state: 'active',
          created_at: at,
          updated_at: at,
          retired_at: null,
          last_used_at: null,
        })
        .execute();
      await old.db
        .insertInto('auth_methods')
        .values([method('p-oldadmin', 'tessera-admin', true), method('p-oldother', '/keys/other', false)])
        .execute();
      await old.close();

      const s = await startTestServer(store, {}, { storeUrl: url, adminAccessKey: accessKey });
      try {
        expect(s.adminAccessId).toBe('p-oldadmin');
        const role = await s.call('GET', '/v1/roles/tessera-admin', { token: s.adminToken });
        expect(role.status).toBe(200);
        expect(role.body.associations).toEqual([
          expect.objectContaining({ id: 'ra-admin-oldadmin', authMethodId: 'p-oldadmin', claims: {} }),
        ]);
        // The old administrator administers: it creates a role and deletes it.
        expect((await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: 'x' } })).status).toBe(
          201,
        );
        expect((await s.call('DELETE', '/v1/roles/x', { token: s.adminToken })).status).toBe(204);
        // The other method gained nothing.
        const other = await s.call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: 'p-oldother', accessKey },
        });
        expect((await s.call('GET', '/v1/roles', { token: other.body.token })).status).toBe(403);
      } finally {
        await s.close();
      }
    } finally {
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

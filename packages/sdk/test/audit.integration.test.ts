import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startServer } from '@tessera/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, TesseraApiError, TesseraClient } from '../src/index.js';

/** The SDK's audit calls against a real server over HTTP. */
describe('SDK audit calls against a running server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: TesseraClient;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-sdk-audit-'));
    server = await startServer(
      loadConfig({ dataDir: dir, port: 0, logLevel: 'silent' }, { TESSERA_ISSUER: 'http://sdk.test' }),
    );
    client = new TesseraClient({ url: server.url });
    const admin = JSON.parse(readFileSync(join(dir, 'admin.json'), 'utf8'));
    await client
      .auth({ accessType: 'access_key', accessId: 'p-nobody', accessKey: 'wrong' })
      .catch(() => undefined);
    token = (
      await client.auth({ accessType: 'access_key', accessId: admin.accessId, accessKey: admin.accessKey })
    ).token;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists events with typed filters, newest first, and follows with afterSeq', async () => {
    const page = await client.listAuditEvents(token, { type: 'auth.*', limit: 10 });
    const types = page.items.map((e: AuditEvent) => e.type);
    expect(types.slice(0, 2)).toEqual(['auth.succeeded', 'auth.failed']);
    const failed = await client.listAuditEvents(token, { outcome: 'failure' });
    expect(failed.items).toHaveLength(1);
    expect(failed.items[0]!.reason).toBe('unknown_access_id');
    expect(failed.items[0]!.actor.authMethodId).toBeNull();
    const after = await client.listAuditEvents(token, { afterSeq: failed.items[0]!.seq });
    expect(after.items.every((e) => e.seq > failed.items[0]!.seq)).toBe(true);
    expect(after.nextCursor).toBeNull();
  });

  it('hashes a value and reports refusals as API errors', async () => {
    const { hash } = await client.auditHash(token, 'needle');
    expect(hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect((await client.auditHash(token, 'needle')).hash).toBe(hash);
    const bad = await client.listAuditEvents(token, { limit: 0 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TesseraApiError);
    expect((bad as TesseraApiError).status).toBe(400);
  });
});

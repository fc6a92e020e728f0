import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, startTestServer, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Issue 12 on two servers sharing one PostgreSQL store: a token revoked through RFC 7009 on one is
 * refused by the other (the revocation set), and a client secret registered on one works on both.
 */
describe('OAuth on two servers on one PostgreSQL database', () => {
  let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    db = await freshPostgresDatabase();
    const env = { TESSERA_ROOT_KEY: randomBytes(32).toString('base64') };
    a = await startTestServer('postgres', env, { storeUrl: db.url });
    b = await startTestServer('postgres', env, { storeUrl: db.url, adminAccessKey: a.adminAccessKey });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const post = async (s: TestServer, path: string, body: string, authorization: string) => {
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: { ...FORM, authorization },
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a token revoked on A is refused on B within 1 s', async () => {
    const c = await createClient(a, 'multi-server-client');
    const basic = `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`;
    const issued = await post(b, '/oauth/token', 'grant_type=client_credentials', basic);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const token = issued.body.access_token as string;
    a.track(token);
    b.track(token);
    expect((await b.call('GET', '/v1/dynamic-secrets', { token })).status).toBe(200);
    expect((await post(a, '/oauth/revoke', `token=${encodeURIComponent(token)}`, basic)).status).toBe(200);
    const started = performance.now();
    let status = 0;
    while (performance.now() - started < 1000) {
      status = (await b.call('GET', '/v1/dynamic-secrets', { token })).status;
      if (status === 401) break;
      await sleep(10);
    }
    expect(status).toBe(401);
    expect((await post(b, '/oauth/introspect', `token=${encodeURIComponent(token)}`, basic)).body).toEqual({
      active: false,
    });
  });
});

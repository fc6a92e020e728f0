import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/capabilities/console/console.door.js';
import { startTestServer, type TestServer } from './harness.js';

/**
 * The console's front door without a browser (the browser tests are in packages/console/test): the
 * session cookie and its idle lifetime, the CSRF checks, the bridge, caching, and a missing build.
 */
describe('console door', () => {
  let s: TestServer;
  let unbuilt: TestServer;
  let dist: string;
  const origin = 'http://tessera.test';

  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'tessera-console-dist-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(
      join(dist, 'index.html'),
      '<!doctype html><script type="module" src="/ui/assets/app-1a2b.js"></script>',
    );
    writeFileSync(join(dist, 'assets/app-1a2b.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
    s = await startTestServer(
      'sqlite',
      { TESSERA_TRUST_PROXY: 'true' },
      { tessera: { console: { dir: dist, idleTimeoutSec: 60 } } },
    );
    unbuilt = await startTestServer('sqlite', {}, { tessera: { console: { dir: join(dist, 'missing') } } });
  });
  afterAll(async () => {
    await s?.close();
    await unbuilt?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  const signIn = (headers: Record<string, string> = {}, key = s.adminAccessKey) =>
    s.tessera.app.inject({
      method: 'POST',
      url: '/ui/session',
      headers: {
        host: 'tessera.test',
        origin,
        'x-tessera-console': '1',
        'content-type': 'application/json',
        ...headers,
      },
      payload: JSON.stringify({ accessId: s.adminAccessId, accessKey: key }),
    });
  const cookieOf = (setCookie: unknown) => /tessera_console=([^;]*)/.exec(String(setCookie))?.[1] ?? '';

  it('signs in into an HttpOnly, SameSite=Strict cookie that lives for the idle time; Secure under TLS', async () => {
    const res = await signIn();
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(
      /^tessera_console=[A-Za-z0-9._-]+; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=60$/,
    );
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ signedIn: true, idleTimeoutSec: 60 });
    // The token is only in the cookie, never in the body the page's script reads.
    expect(res.body).not.toContain(cookieOf(cookie));
    const tls = await signIn({ 'x-forwarded-proto': 'https', origin: 'https://tessera.test' });
    expect(String(tls.headers['set-cookie'])).toMatch(/; Secure$/);
    const wrong = await signIn({}, 'tak-wrong');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('bridges /ui/api to the public API with the cookie as the bearer token, renewing the idle time', async () => {
    const token = cookieOf((await signIn()).headers['set-cookie']);
    const res = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/api/v1/identities?limit=1',
      headers: { host: 'tessera.test', cookie: `tessera_console=${token}`, 'x-tessera-console': '1' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toHaveLength(1);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(String(res.headers['set-cookie'])).toContain('Max-Age=60');
    // An API refusal is the API's own (the console has no privileged path).
    const missing = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/api/v1/identities/i-doesnotexist',
      headers: { host: 'tessera.test', cookie: `tessera_console=${token}`, 'x-tessera-console': '1' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('TESSERA_NOT_FOUND');
    // Only /v1 is bridged.
    const system = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/api/metrics',
      headers: { host: 'tessera.test', cookie: `tessera_console=${token}`, 'x-tessera-console': '1' },
    });
    expect(system.statusCode).toBe(404);
  });

  it('refuses cross-site and headerless calls before reading their body, and calls without a session', async () => {
    const token = cookieOf((await signIn()).headers['set-cookie']);
    const post = (headers: Record<string, string>, payload = '{"name":"x","kind":"service","owner":"o"}') =>
      s.tessera.app.inject({
        method: 'POST',
        url: '/ui/api/v1/identities',
        headers: { host: 'tessera.test', cookie: `tessera_console=${token}`, ...headers },
        payload,
      });
    const json = { 'content-type': 'application/json' };
    for (const headers of [
      { ...json, origin },
      { ...json, origin: 'http://evil.test', 'x-tessera-console': '1' },
      { ...json, 'x-tessera-console': '1', 'sec-fetch-site': 'cross-site', origin },
      { ...json, 'x-tessera-console': '1' },
      { 'content-type': 'text/plain', origin: 'http://evil.test' },
    ]) {
      const res = await post(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().error).toMatchObject({
        code: 'TESSERA_FORBIDDEN',
        details: { reason: 'cross_site' },
      });
    }
    const ok = await post({ ...json, origin, 'x-tessera-console': '1', 'sec-fetch-site': 'same-origin' });
    expect(ok.statusCode).toBe(201);
    const signedOut = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/api/v1/identities',
      headers: { host: 'tessera.test', 'x-tessera-console': '1', cookie: 'tessera_console=not-a-token' },
    });
    expect(signedOut.statusCode).toBe(401);
    expect(signedOut.json().error.code).toBe('TESSERA_UNAUTHENTICATED');
    expect(String(signedOut.headers['set-cookie'])).toContain('Max-Age=0');
    const crossSignOut = await s.tessera.app.inject({
      method: 'DELETE',
      url: '/ui/session',
      headers: { host: 'tessera.test', origin: 'http://evil.test', 'x-tessera-console': '1' },
    });
    expect(crossSignOut.statusCode).toBe(403);
  });

  it('starts single sign-on only when the server has an identity provider, and only from the console', async () => {
    const headers = { host: 'tessera.test', origin, 'x-tessera-console': '1' };
    const start = await s.tessera.app.inject({ method: 'POST', url: '/ui/login/start', headers });
    expect(start.statusCode).toBe(404);
    expect(start.json().error.message).toContain('not configured');
    const forged = await s.tessera.app.inject({
      method: 'POST',
      url: '/ui/login/start',
      headers: { host: 'tessera.test', origin: 'http://evil.test' },
    });
    expect(forged.statusCode).toBe(403);
    const poll = await s.tessera.app.inject({ method: 'POST', url: '/ui/login/poll', headers });
    expect(poll.json()).toEqual({ status: 'expired' });
  });

  it('serves pages behind a session, hashed assets for a year, and says when the console is not built', async () => {
    const page = await s.tessera.app.inject({ method: 'GET', url: '/ui/secrets?x=1' });
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe('/ui/sign-in?next=%2Fui%2Fsecrets');
    const token = cookieOf((await signIn()).headers['set-cookie']);
    const signedIn = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/secrets',
      headers: { cookie: `tessera_console=${token}` },
    });
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.headers['cache-control']).toBe('no-cache');
    const asset = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/assets/app-1a2b.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.rawPayload.length).toBeLessThan(200);
    const again = await s.tessera.app.inject({
      method: 'GET',
      url: '/ui/assets/app-1a2b.js',
      headers: { 'if-none-match': String(asset.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const missing = await s.tessera.app.inject({ method: 'GET', url: '/ui/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    const traversal = await s.tessera.app.inject({ method: 'GET', url: '/ui/assets/..%2F..%2Fpackage.json' });
    expect(traversal.statusCode).toBe(404);

    const none = await unbuilt.tessera.app.inject({ method: 'GET', url: '/ui/sign-in' });
    expect(none.statusCode).toBe(503);
    expect(none.body).toContain('npm run build');
  });
});

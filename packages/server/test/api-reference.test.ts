import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

/**
 * The interactive API reference at /docs: Swagger UI served from this server (no CDN), under a
 * strict Content-Security-Policy, and `/` leading to it.
 */
describe('API reference at /docs', () => {
  let s: TestServer;
  const get = (url: string) => s.tessera.app.inject({ method: 'GET', url });

  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s.close();
  });

  it('GET / redirects to /docs', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/docs');
  });

  it('GET /docs is the Swagger UI page, its assets served locally, nothing from another host', async () => {
    const res = await get('/docs');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<div id="swagger-ui">');
    expect(res.body).toContain('<title>Tessera API reference</title>');
    // Every script and stylesheet is a relative URL on this server.
    const assets = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    expect(res.body).not.toMatch(/https?:\/\/|(?:src|href)="\/\//);
    for (const asset of assets) {
      const url = new URL(asset, 'http://tessera.test/docs').pathname;
      const a = await get(url);
      expect(a.statusCode, url).toBe(200);
      expect(a.body.length, url).toBeGreaterThan(0);
    }
    expect(assets.some((a) => a.endsWith('swagger-ui-bundle.js'))).toBe(true);
    // Stylesheets load nothing from another host either (inline data: images only).
    for (const css of assets.filter((a) => a.endsWith('.css'))) {
      const body = (await get(new URL(css, 'http://tessera.test/docs').pathname)).body;
      for (const [, ref] of body.matchAll(/url\(\s*["']?([^"')]*)/g))
        expect(ref, css).toMatch(/^(?:data:|[^:/]*$)/);
      expect(body, css).not.toMatch(/@import/);
    }
    expect(assets.some((a) => a.endsWith('swagger-ui.css'))).toBe(true);
    // The initializer points at this server's OpenAPI document and no external validator.
    const init = await get('/docs/static/swagger-initializer.js');
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain("resolveUrl('./json')");
    expect(init.body).toContain('validatorUrl: null');
    expect(init.body).not.toMatch(/['"]https?:\/\//);
  });

  it('sends a strict Content-Security-Policy: self only, no inline script', async () => {
    for (const url of ['/docs', '/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js']) {
      const csp = String((await get(url)).headers['content-security-policy'] ?? '');
      expect(csp, url).toContain("default-src 'none'");
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("connect-src 'self'");
      expect(csp, url).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    }
  });

  it('serves the OpenAPI document the UI renders, with the API routes in it', async () => {
    const res = await get('/docs/json');
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/auth');
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/docs'))).toBe(false);
    const same = await get('/openapi.json');
    expect(JSON.parse(same.body).paths).toEqual(doc.paths);
  });
});

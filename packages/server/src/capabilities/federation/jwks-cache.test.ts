import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedUrl, createJwksCache } from './jwks-cache.js';

const KEY = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' };

describe('JWKS cache', () => {
  let server: Server;
  let url = '';
  let discoveryIssuer: (url: string) => string = (u) => u;
  let keys: unknown = { keys: [KEY] };
  let status = 200;
  let fetches = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      fetches++;
      if (status !== 200) return void res.writeHead(status).end();
      if (req.url === '/hang') return; // never answers: the timeout must end the fetch
      if (req.url === '/moved') return void res.writeHead(302, { location: `${url}/keys` }).end();
      if (req.url === '/huge') {
        // Chunked, no content-length: the limit must hold while it streams.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys":[');
        const pad = 'x'.repeat(64 * 1024);
        for (let i = 0; i < 8; i++) res.write(`{"kid":"${pad}"},`);
        return void res.end('{}]}');
      }
      const body =
        req.url === '/.well-known/openid-configuration'
          ? { issuer: discoveryIssuer(url), jwks_uri: `${url}/keys` }
          : keys;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const setup = () => {
    const clock = {
      ms: 1_000_000,
      nowMs() {
        return this.ms;
      },
    };
    const jwksProblem = (j: unknown) => (Array.isArray((j as { keys?: unknown }).keys) ? null : 'bad');
    return { clock, cache: createJwksCache(clock, { jwksProblem, minRefreshIntervalMs: 10_000 }) };
  };

  it('refuses a discovery document naming another issuer (OIDC Discovery §4.3)', async () => {
    discoveryIssuer = () => 'https://someone-else.example';
    const { cache } = setup();
    expect(await cache.keysFor(url, 'k1')).toBeNull();
    discoveryIssuer = (u) => u;
  });

  it('caches; refreshes on an unknown kid at most once per interval; serves stale within the limit', async () => {
    const { clock, cache } = setup();
    expect(await cache.keysFor(url, 'k1')).toEqual({ keys: [KEY] });
    const before = fetches;
    expect(await cache.keysFor(url, 'k1')).toEqual({ keys: [KEY] });
    expect(await cache.keysFor(url, 'unknown')).toEqual({ keys: [KEY] }); // within the interval: no fetch
    expect(fetches).toBe(before);
    clock.ms += 11_000;
    await cache.keysFor(url, 'unknown');
    expect(fetches).toBe(before + 2); // discovery + keys
    status = 503;
    clock.ms += 11 * 60_000; // stale, issuer down
    expect(await cache.keysFor(url, 'k1')).toEqual({ keys: [KEY] });
    clock.ms += 25 * 3600_000; // beyond the stale limit
    expect(await cache.keysFor(url, 'k1')).toBeNull();
    status = 200;
  });

  it('keeps the last good set when the issuer serves an unusable one', async () => {
    const { clock, cache } = setup();
    expect(await cache.keysFor(url, 'k1')).toEqual({ keys: [KEY] });
    keys = { nope: true };
    clock.ms += 11 * 60_000;
    expect(await cache.keysFor(url, 'k1')).toEqual({ keys: [KEY] });
    keys = { keys: [KEY] };
  });

  it('fetches a jwks_uri directly, cached apart from issuers, with the same unknown-kid refresh', async () => {
    const { clock, cache } = setup();
    const before = fetches;
    expect(await cache.keysAt(`${url}/keys`, 'k1')).toEqual({ keys: [KEY] });
    expect(fetches).toBe(before + 1); // no discovery
    expect(await cache.keysAt(`${url}/keys`, 'k2')).toEqual({ keys: [KEY] }); // within the interval
    expect(fetches).toBe(before + 1);
    keys = { keys: [KEY, { ...KEY, kid: 'k2' }] };
    clock.ms += 11_000;
    expect((await cache.keysAt(`${url}/keys`, 'k2'))?.keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
    expect(fetches).toBe(before + 2);
    keys = { keys: [KEY] };
  });

  it('refuses a body over the size limit, chunked or not, and never follows a plain-http remote URL', async () => {
    const { cache } = setup();
    expect(await cache.keysAt(`${url}/huge`, null)).toBeNull();
    expect(await cache.keysAt('http://tessera-jwks.invalid/keys', null)).toBeNull();
  });

  it('gives up on a URI that does not answer in time, and follows no redirect', async () => {
    const clock = { nowMs: () => 1_000_000 };
    const cache = createJwksCache(clock, { jwksProblem: () => null, timeoutMs: 200 });
    const started = Date.now();
    expect(await cache.keysAt(`${url}/hang`, null)).toBeNull();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await cache.keysAt(`${url}/moved`, null)).toBeNull();
  });

  it('a SPIFFE bundle stays fresh for its refresh hint, held between the least interval and the TTL', async () => {
    const hinted = async (hint: unknown) => {
      keys = { keys: [KEY], spiffe_refresh_hint: hint, spiffe_sequence: 1 };
      const clock = { ms: 1_000_000, nowMs: () => clock.ms };
      const cache = createJwksCache(clock, {
        jwksProblem: () => null,
        ttlMs: 600_000,
        minRefreshIntervalMs: 10_000,
      });
      const before = fetches;
      expect(await cache.bundleAt(`${url}/bundle`, 'k1')).toMatchObject({ keys: [KEY] });
      // The first moment a use refetches it, probed in steps of one second.
      for (let s = 1; s <= 700; s++) {
        clock.ms = 1_000_000 + s * 1000;
        await cache.bundleAt(`${url}/bundle`, 'k1');
        if (fetches - before > 1) return s;
      }
      return null;
    };
    expect(await hinted(60)).toBe(60);
    expect(await hinted(1)).toBe(10); // never faster than the least refresh interval
    expect(await hinted(86_400)).toBe(600); // never longer than the TTL
    expect(await hinted('soon')).toBe(600); // no usable hint: the TTL
    keys = { keys: [KEY] };
  });

  it('https only, except a loopback test issuer', () => {
    expect(allowedUrl(new URL('https://issuer.example'))).toBe(true);
    expect(allowedUrl(new URL('http://127.0.0.1:8080'))).toBe(true);
    expect(allowedUrl(new URL('http://issuer.example'))).toBe(false);
    expect(allowedUrl(new URL('ftp://issuer.example'))).toBe(false);
  });
});

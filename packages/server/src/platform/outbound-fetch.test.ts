import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundFetch, OutboundRefused } from './outbound-fetch.js';

describe('outbound fetch guard', () => {
  let server: Server;
  let port: number;
  const hosts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        return;
      }
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => 'fetched',
      (e: unknown) => (e instanceof OutboundRefused ? e.reason : `other: ${(e as Error).message}`),
    );

  it('refuses a loopback address unless the operator allows it', async () => {
    expect(await refusal(createOutboundFetch([])(`http://127.0.0.1:${port}/`))).toBe('loopback');
    const allowed = createOutboundFetch(['127.0.0.0/8']);
    const res = await allowed(`http://127.0.0.1:${port}/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: 'POST', body: '{"a":1}' });
  });

  it('refuses the metadata address and private ones, whatever the scheme', async () => {
    const guard = createOutboundFetch([]);
    expect(await refusal(guard('http://169.254.169.254/latest/meta-data/'))).toBe('metadata');
    expect(await refusal(guard('https://10.0.0.5/jwks.json'))).toBe('private');
    expect(await refusal(guard('file:///etc/passwd'))).toBe('scheme');
  });

  it('resolves a name once and connects to the address it checked (no DNS rebinding)', async () => {
    let lookups = 0;
    // A rebinding resolver: a private address first, then (if asked again) the loopback server.
    const rebinding = createOutboundFetch(['127.0.0.0/8'], (_host, _options, callback) => {
      lookups++;
      callback(null, [{ address: lookups === 1 ? '10.0.0.7' : '127.0.0.1', family: 4 }]);
    });
    expect(await refusal(rebinding(`http://rebind.example:${port}/`))).toBe('private');
    expect(lookups).toBe(1);
    // Any refused address among several refuses the name.
    const mixed = createOutboundFetch(['127.0.0.0/8'], (_host, _options, callback) =>
      callback(null, [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]),
    );
    expect(await refusal(mixed(`http://mixed.example:${port}/`))).toBe('metadata');
    // A name resolving to an allowed address is fetched from exactly that address.
    const pinned = createOutboundFetch(['127.0.0.0/8'], (_host, _options, callback) =>
      callback(null, [{ address: '127.0.0.1', family: 4 }]),
    );
    const res = await pinned(`http://keys.example:${port}/`);
    expect(res.status).toBe(200);
    expect(hosts.at(-1)).toBe(`keys.example:${port}`);
  });

  it('never follows a redirect: an error when asked, the 3xx itself otherwise', async () => {
    const guard = createOutboundFetch(['127.0.0.0/8']);
    expect(await refusal(guard(`http://127.0.0.1:${port}/redirect`, { redirect: 'error' }))).toMatch(
      /^other: redirect refused/,
    );
    const res = await guard(`http://127.0.0.1:${port}/redirect`, { redirect: 'manual' });
    expect(res.status).toBe(302);
  });

  it('a timeout is the signal’s reason', async () => {
    const guard = createOutboundFetch([], (_h, _o, callback) => {
      setTimeout(() => callback(null, [{ address: '93.184.215.14', family: 4 }]), 10_000).unref();
    });
    const failed = await guard('http://slow.example/', { signal: AbortSignal.timeout(100) }).catch(
      (e: Error) => e.name,
    );
    expect(failed).toBe('TimeoutError');
  });
});

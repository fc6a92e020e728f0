import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TesseraClient, TesseraNetworkError } from '@tessera/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHttpFetch } from './http.fetch.js';

let server: Server;
let url: string;
const seen: Array<{ method: string; path: string; body: string; auth: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', body, auth: req.headers.authorization });
      if (req.url === '/slow') return; // never answers
      if (req.url?.startsWith('/v1/identities/missing')) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
        res.end(JSON.stringify({ error: { code: 'TESSERA_NOT_FOUND', message: 'Not found.' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-2' });
      res.end(JSON.stringify({ échoed: body ? JSON.parse(body) : null, path: req.url }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

describe('nodeHttpFetch (the CLI fetch, without undici)', () => {
  it('sends method, headers and a UTF-8 body; returns status, headers and text', async () => {
    const body = JSON.stringify({ name: 'ünïcode ✓' });
    const r = await nodeHttpFetch(`${url}/v1/x?a=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body,
    });
    expect(r.ok).toBe(true);
    expect(r.status).toBe(200);
    expect(r.headers.get('X-Request-Id')).toBe('req-2');
    expect(JSON.parse(await r.text())).toEqual({ échoed: { name: 'ünïcode ✓' }, path: '/v1/x?a=1' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', auth: 'Bearer t', body });
  });

  it('works under the SDK: API errors stay typed, a refused connection is a network error', async () => {
    const client = new TesseraClient({ url, fetch: nodeHttpFetch });
    await expect(client.getIdentity('t-x', 'missing')).rejects.toMatchObject({
      code: 'TESSERA_NOT_FOUND',
      status: 404,
    });
    const closed = new TesseraClient({ url: 'http://127.0.0.1:9', fetch: nodeHttpFetch });
    const err = await closed.getIdentity('t-x', 'i-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraNetworkError);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('aborts with an AbortError', async () => {
    const controller = new AbortController();
    const pending = nodeHttpFetch(`${url}/slow`, { method: 'GET', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

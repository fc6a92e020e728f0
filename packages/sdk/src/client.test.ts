import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareCredential, TesseraClient } from './client.js';
import { TesseraApiError, TesseraNetworkError } from './errors.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let seen: Seen[] = [];
let server: Server;
let url: string;

function reply(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'x-request-id': 'req-header' });
  res.end(body);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0];
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    if (path?.startsWith('/slow')) return;
    if (path === '/v1/auth-methods/p-gone') {
      res.writeHead(204);
      return res.end();
    }
    if (path === '/v1/identities/missing') {
      return reply(
        res,
        404,
        JSON.stringify({
          error: { code: 'TESSERA_NOT_FOUND', message: 'No such identity.', requestId: 'req-1' },
        }),
      );
    }
    if (path === '/healthz') return reply(res, 502, '<html>bad gateway</html>', 'text/html');
    if (path === '/readyz') return reply(res, 200, 'not json');
    return reply(res, 200, JSON.stringify({ ok: true, items: [], nextCursor: null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('TesseraClient', () => {
  it('sends the credential as a bearer token without the t- prefix', async () => {
    seen = [];
    const c = new TesseraClient({ url: `${url}/`, userAgent: 'tessera-test/1' });
    await c.listIdentities('t-eyJabc', { kind: 'service', tag: 'a b', limit: 5 });
    await c.getUidTree('u-holder');
    expect(seen[0]?.url).toBe('/v1/identities?kind=service&tag=a+b&limit=5');
    expect(seen[0]?.headers.authorization).toBe('Bearer eyJabc');
    expect(seen[0]?.headers['user-agent']).toBe('tessera-test/1');
    expect(seen[1]?.headers.authorization).toBe('Bearer u-holder');
    expect(bareCredential('t-x')).toBe('x');
    expect(bareCredential('u-x')).toBe('u-x');
  });

  it('sends JSON bodies and encodes path segments', async () => {
    seen = [];
    const c = new TesseraClient({ url });
    await c.getAuthMethodByName('tok', '/demo/uid auth');
    await c.ackUidRotation('u-old', 'u-new');
    expect(seen[0]?.url).toBe('/v1/auth-methods/by-name?name=%2Fdemo%2Fuid+auth');
    expect(seen[1]?.method).toBe('POST');
    expect(seen[1]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ newToken: 'u-new' });
    await c.getIdentity('tok', '../x');
    expect(seen[2]?.url).toBe('/v1/identities/..%2Fx');
  });

  it('addresses roles by name and rules by type and path', async () => {
    seen = [];
    const c = new TesseraClient({ url });
    await c.getRole('tok', '/team/ops');
    await c.setRoleRule('tok', 'ops', { ruleType: 'item-rule', path: '/demo/*', capabilities: ['read'] });
    await c.deleteRoleRule('tok', 'ops', { ruleType: 'item', path: '/demo/*' });
    await c.associateRole('tok', 'ops', { authMethodName: '/ci', claims: { environment: ['prod'] } });
    await c.deleteRoleAssociation('tok', 'ra-1');
    await c.explainAccess('tok', { path: '/demo/x', action: 'read', token: 't-other' });
    expect(seen.map((x) => `${x.method} ${x.url}`)).toEqual([
      'GET /v1/roles/%2Fteam%2Fops',
      'POST /v1/roles/ops/rules',
      'DELETE /v1/roles/ops/rules?ruleType=item&path=%2Fdemo%2F*',
      'POST /v1/roles/ops/associations',
      'DELETE /v1/role-associations/ra-1',
      'POST /v1/access/explain',
    ]);
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({
      ruleType: 'item-rule',
      path: '/demo/*',
      capabilities: ['read'],
    });
    expect(JSON.parse(seen[5]?.body ?? '')).toEqual({ path: '/demo/x', action: 'read', token: 't-other' });
  });

  it('returns undefined for 204', async () => {
    await expect(new TesseraClient({ url }).deleteAuthMethod('tok', 'p-gone')).resolves.toBeUndefined();
  });

  it('throws TesseraApiError with the server code, message and request id', async () => {
    const err = await new TesseraClient({ url })
      .getIdentity('secret-token', 'missing')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraApiError);
    const api = err as TesseraApiError;
    expect([api.status, api.code, api.message, api.requestId]).toEqual([
      404,
      'TESSERA_NOT_FOUND',
      'No such identity.',
      'req-1',
    ]);
    expect(api.message).not.toContain('secret-token');
  });

  it('maps non-JSON answers to stable codes', async () => {
    const c = new TesseraClient({ url });
    await expect(c.health()).rejects.toMatchObject({
      status: 502,
      code: 'TESSERA_HTTP_502',
      requestId: 'req-header',
    });
    await expect(c.ready()).rejects.toMatchObject({ status: 200, code: 'TESSERA_BAD_RESPONSE' });
  });

  it('times out with TesseraNetworkError TESSERA_TIMEOUT', async () => {
    const c = new TesseraClient({ url: `${url}/slow`, timeoutMs: 100 });
    const err = await c.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraNetworkError);
    expect((err as TesseraNetworkError).code).toBe('TESSERA_TIMEOUT');
  });

  it('reports connection failures as TESSERA_NETWORK_ERROR without the credential', async () => {
    const c = new TesseraClient({ url: 'http://127.0.0.1:1' });
    const err = await c.getUidTree('u-very-secret').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraNetworkError);
    expect((err as TesseraNetworkError).code).toBe('TESSERA_NETWORK_ERROR');
    expect((err as Error).message).toContain('GET /v1/uid/tree');
    expect((err as Error).message).not.toContain('u-very-secret');
  });
});

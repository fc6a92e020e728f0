import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { McpServerRecord } from './mcp.model.js';
import { createUpstreamPool, isolatingFetch } from './mcp.upstream.js';

describe('isolatingFetch (pooled upstream clients)', () => {
  const server = createServer((req, res) => {
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('leaves no abort listener on the shared signal per JSON request', async () => {
    const shared = new AbortController();
    for (let i = 0; i < 300; i++)
      await (await isolatingFetch(`${base}/json`, { signal: shared.signal })).json();
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('still ends an SSE stream when the shared signal aborts', async () => {
    const shared = new AbortController();
    const res = await isolatingFetch(`${base}/sse`, { signal: shared.signal });
    const reader = res.body!.getReader();
    await reader.read();
    shared.abort();
    await expect(reader.read()).rejects.toThrow();
  });
});

describe('the lean HTTP path to an upstream (ADR 0028)', () => {
  type Mode = 'json' | 'sse' | 'garbage' | 'hang' | 'forget' | 'error';
  let mode: Mode = 'json';
  let sessionsOpened = 0;
  const live = new Set<string>();
  const received: { session: string | null; version: string | null }[] = [];
  const upstream = createServer(async (req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    for await (const c of req) body += c;
    const m = JSON.parse(body);
    const sid = (req.headers['mcp-session-id'] as string | undefined) ?? null;
    const json = (value: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    if (m.method === 'initialize') {
      const id = `s${++sessionsOpened}`;
      live.add(id);
      return json(
        {
          jsonrpc: '2.0',
          id: m.id,
          result: {
            protocolVersion: m.params.protocolVersion,
            capabilities: { tools: {} },
            serverInfo: { name: 'fake', version: '1' },
          },
        },
        { 'mcp-session-id': id },
      );
    }
    if (!sid || !live.has(sid)) return void res.writeHead(404).end();
    if (m.id === undefined) return void res.writeHead(202).end();
    received.push({ session: sid, version: (req.headers['mcp-protocol-version'] as string) ?? null });
    const answer = { jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: mode }] } };
    switch (mode) {
      case 'json':
        return json(answer);
      case 'error':
        return json({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'bad arguments' } });
      case 'sse':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } })}\n\n`,
        );
        return void res.end(`event: message\ndata: ${JSON.stringify(answer)}\n\n`);
      case 'garbage':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>oops');
      case 'hang':
        return;
      case 'forget':
        live.clear();
        mode = 'json';
        return void res.writeHead(404).end();
    }
  });
  let pool: ReturnType<typeof createUpstreamPool>;
  let server: McpServerRecord;
  const none = { headers: {}, key: 'none', renewAtMs: Number.POSITIVE_INFINITY };
  beforeAll(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    pool = createUpstreamPool({ nowMs: () => Date.now(), onCatalogueChanged: () => {} });
    server = {
      name: 'fake',
      transport: 'http',
      url: `http://127.0.0.1:${port}/mcp`,
      command: null,
      timeoutMs: 1000,
    } as unknown as McpServerRecord;
  });
  afterAll(async () => {
    await pool.closeAll();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });
  const call = () => pool.callTool(server, none, 'echo', { text: 'x' });

  it('calls on the session the SDK client opened, with its negotiated version', async () => {
    mode = 'json';
    expect(await call()).toEqual({ content: [{ type: 'text', text: 'json' }] });
    expect(await call()).toEqual({ content: [{ type: 'text', text: 'json' }] });
    expect(sessionsOpened).toBe(1);
    expect(received.at(-1)).toEqual({ session: 's1', version: expect.stringMatching(/^20\d\d-/) });
  });

  it('takes the answer out of an SSE stream and skips the other messages on it', async () => {
    mode = 'sse';
    expect(await call()).toEqual({ content: [{ type: 'text', text: 'sse' }] });
  });

  it('passes a JSON-RPC error on, and answers garbage with 502 upstream_failed', async () => {
    mode = 'error';
    await expect(call()).rejects.toMatchObject({ code: 'upstream_error', rpcCode: -32602, httpStatus: 200 });
    mode = 'garbage';
    await expect(call()).rejects.toMatchObject({ code: 'upstream_failed', httpStatus: 502 });
  });

  it('gives up on an upstream that hangs with 504 upstream_timeout, and the next call works', async () => {
    mode = 'hang';
    await expect(call()).rejects.toMatchObject({ code: 'upstream_timeout', httpStatus: 504 });
    mode = 'json';
    expect(await call()).toEqual({ content: [{ type: 'text', text: 'json' }] });
  });

  it('opens a new session once when the upstream forgot the old one', async () => {
    const before = sessionsOpened;
    mode = 'forget';
    expect(await call()).toEqual({ content: [{ type: 'text', text: 'json' }] });
    expect(sessionsOpened).toBe(before + 1);
  });
});

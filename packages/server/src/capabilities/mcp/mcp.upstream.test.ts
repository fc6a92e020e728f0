import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatingFetch } from './mcp.upstream.js';

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

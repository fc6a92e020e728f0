/**
 * The gateway fails closed (DESIGN §3): while every audit sink fails, a permitted tools/call is
 * refused with 503 `TESSERA_AUDIT_UNAVAILABLE` and `Retry-After` before it reaches the upstream —
 * its audit event is written after the answer, so the call must not run when it cannot be recorded.
 * Calls resume when a sink recovers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statelessRequest } from './fixtures/mcp-stateless.js';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import type { TestServer } from './harness.js';
import { createClient, startLiveServer } from './oauth.helpers.js';

const NAME = 'closed';

/** An audit webhook receiver answering with `status()`. */
async function httpReceiver(status: () => number) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status()).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until(condition: () => Promise<boolean>, limitMs = 20_000) {
  const end = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function admin(s: TestServer, method: string, url: string, body?: unknown) {
  const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

describe('the MCP gateway while every audit sink fails', () => {
  let s: TestServer & { issuer: string };
  let upstream: HttpUpstream;
  let sink: Awaited<ReturnType<typeof httpReceiver>>;
  let sinkUp = true;
  let bearer: string;

  const call = (tool: string, args: Record<string, unknown>) =>
    statelessRequest(s, NAME, bearer, tool, args, 'closed-agent');

  beforeAll(async () => {
    upstream = await startHttpUpstream();
    sink = await httpReceiver(() => (sinkUp ? 200 : 500));
    s = await startLiveServer('sqlite', {
      TESSERA_AUDIT_FILE: 'off',
      TESSERA_AUDIT_WEBHOOK_URL: sink.url,
      TESSERA_AUDIT_WEBHOOK_TIMEOUT_MS: '60000',
      TESSERA_AUDIT_SINK_RETRY_MS: '20',
      TESSERA_AUDIT_SINK_RETRY_MAX_MS: '100',
    });
    const { endpoint } = await admin(s, 'POST', '/v1/mcp-servers', {
      name: NAME,
      url: upstream.url,
      owner: 'alice@example.com',
      policy: {
        rules: [
          { id: 'mail', tool: 'send_email', effect: 'allow' },
          {
            id: 'one-transfer',
            tool: 'transfer',
            effect: 'allow',
            when: { rate: { max: 1, windowSeconds: 600 } },
          },
        ],
        tools: {},
      },
    });
    await admin(s, 'POST', `/v1/mcp-servers/${NAME}/approve-tools`, {});
    const c = await createClient(s, '/agents/closed', { resources: [endpoint] });
    await admin(s, 'POST', '/v1/roles', { name: 'closed-calls' });
    await admin(s, 'POST', '/v1/roles/closed-calls/rules', {
      ruleType: 'mcp-tool',
      path: `/${NAME}/*`,
      capabilities: ['call'],
    });
    await admin(s, 'POST', '/v1/roles/closed-calls/associations', { authMethodId: c.clientId });
    const r = await s.call('POST', '/oauth/token', {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: endpoint }).toString(),
    });
    bearer = r.body.access_token;
    s.track(bearer);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await upstream?.close();
    await sink?.close();
  });

  it('refuses a permitted call before it goes upstream, and resumes with the sink', async () => {
    const ok = await call('send_email', { to: 'bob@example.com', body: 'before' });
    expect(ok.status).toBe(200);
    expect(ok.body.result.content[0].text).toMatch(/bob@example.com/);
    const before = upstream.calls.send_email?.length ?? 0;

    sinkUp = false;
    // The next write commits (the sink was healthy), its copy fails, and the sink turns failing.
    await admin(s, 'POST', '/v1/identities', { name: 'trigger', kind: 'service', owner: 'team-a' });
    await until(async () => (await s.call('GET', '/readyz')).status === 503);

    const refused = await call('send_email', { to: 'bob@example.com', body: 'while failing' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error.data.code).toBe('TESSERA_AUDIT_UNAVAILABLE');
    expect(upstream.calls.send_email?.length ?? 0).toBe(before);
    // A rated call is refused before its reservation (ADR 0051: the unsynced write passes the same
    // gate as every write), so the refusal takes no slot of its cap of one.
    const rated = await call('transfer', { amount: 1, to: 'bob' });
    expect(rated.status).toBe(503);
    expect(rated.body.error.data.code).toBe('TESSERA_AUDIT_UNAVAILABLE');
    expect(upstream.calls.transfer?.length ?? 0).toBe(0);

    sinkUp = true;
    await until(async () => (await s.call('GET', '/readyz')).status === 200);
    const after = await call('send_email', { to: 'bob@example.com', body: 'after' });
    expect(after.status).toBe(200);
    expect(upstream.calls.send_email).toHaveLength(before + 1);
    const transferred = await call('transfer', { amount: 2, to: 'bob' });
    expect(transferred.body.error).toBeUndefined();
    expect(transferred.status).toBe(200);
    expect(transferred.body.result.content[0].text).toBe('transferred 2');
  });
});

/**
 * Sequence and rate rules hold across servers (issue 15, ADR 0042): two Tessera servers on one
 * PostgreSQL database, as behind a balancer. An agent's 2026-07-28 (stateless) calls alternate
 * between them; the session's labels and the rate counters live in the store, not in either
 * process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statelessCall } from './fixtures/mcp-stateless.js';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import { type ServerPair, startServerPair, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const NAME = 'pair-tools';
const ISSUER = 'https://tessera.pair.test';

let pair: ServerPair;
let upstream: HttpUpstream;
let agent: { clientId: string; secret: string };
let endpoint: string;

async function admin(s: TestServer, method: string, url: string, body?: unknown) {
  const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function token(): Promise<string> {
  const r = await pair.a.call('POST', '/oauth/token', {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${agent.clientId}:${agent.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: endpoint }).toString(),
  });
  if (!r.body?.access_token) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
  pair.a.track(r.body.access_token);
  pair.b.track(r.body.access_token);
  return r.body.access_token;
}

/** One stateless tools/call on server `s`: the result's text, or the error's data. */
const call = (s: TestServer, bearer: string, tool: string, args: Record<string, unknown>) =>
  statelessCall(s, NAME, bearer, tool, args, 'pair-agent');

beforeAll(async () => {
  upstream = await startHttpUpstream();
  pair = await startServerPair({ TESSERA_ISSUER: ISSUER });
  const created = await admin(pair.a, 'POST', '/v1/mcp-servers', {
    name: NAME,
    url: upstream.url,
    owner: 'alice@example.com',
    policy: {
      rules: [
        { id: 'reports', tool: 'read_report', effect: 'allow' },
        { id: 'mail', tool: 'send_email', effect: 'allow' },
        {
          id: 'no-exfiltration',
          tool: 'label:external-send',
          effect: 'deny',
          when: { after: ['sensitive-read'] },
        },
        {
          id: 'two-a-minute',
          tool: 'transfer',
          effect: 'allow',
          when: { rate: { max: 2, windowSeconds: 60 } },
        },
      ],
      tools: { read_report: { labels: ['sensitive-read'] }, send_email: { labels: ['external-send'] } },
    },
  });
  endpoint = created.endpoint;
  expect(endpoint).toBe(`${ISSUER}/mcp/${NAME}`);
  await admin(pair.a, 'POST', `/v1/mcp-servers/${NAME}/approve-tools`, {});
  const c = await createClient(pair.a, '/agents/pair', { resources: [endpoint] });
  agent = { clientId: c.clientId, secret: c.clientSecret! };
  await admin(pair.a, 'POST', '/v1/roles', { name: 'pair-calls' });
  await admin(pair.a, 'POST', '/v1/roles/pair-calls/rules', {
    ruleType: 'mcp-tool',
    path: `/${NAME}/*`,
    capabilities: ['call'],
  });
  await admin(pair.a, 'POST', '/v1/roles/pair-calls/associations', { authMethodId: c.clientId });
}, 120_000);

afterAll(async () => {
  await pair?.close();
  await upstream?.close();
});

describe('MCP gateway on two servers sharing one PostgreSQL', () => {
  it('denies the external send on server B after the sensitive read on server A', async () => {
    const t = await token();
    expect(await call(pair.b, t, 'send_email', { to: 'bob@example.com', body: 'before' })).toEqual({
      text: 'sent to bob@example.com',
    });
    expect(await call(pair.a, t, 'read_report', { path: '/srv/reports/q3.pdf' })).toEqual({
      text: 'report /srv/reports/q3.pdf',
    });
    const after = await call(pair.b, t, 'send_email', { to: 'bob@example.com', body: 'the report' });
    expect(after.error).toMatchObject({
      code: 'mcp_denied',
      rule: 'no-exfiltration',
      reason: 'denied-by-rule',
    });
    // Another token (another stateless session) has read nothing.
    expect(await call(pair.b, await token(), 'send_email', { to: 'bob@example.com', body: 'ok' })).toEqual({
      text: 'sent to bob@example.com',
    });
  });

  it('holds the rate cap across both servers', async () => {
    const t = await token();
    expect(await call(pair.a, t, 'transfer', { amount: 1, to: 'bob' })).toEqual({ text: 'transferred 1' });
    expect(await call(pair.b, t, 'transfer', { amount: 2, to: 'bob' })).toEqual({ text: 'transferred 2' });
    for (const s of [pair.a, pair.b])
      expect((await call(s, t, 'transfer', { amount: 3, to: 'bob' })).error).toMatchObject({
        code: 'mcp_denied',
        rule: 'two-a-minute',
        condition: 'rate 2/60s',
      });
    // The cap is per caller, not per token: a fresh token of the same agent is capped too.
    expect((await call(pair.b, await token(), 'transfer', { amount: 4, to: 'bob' })).error).toMatchObject({
      condition: 'rate 2/60s',
    });
  });
});

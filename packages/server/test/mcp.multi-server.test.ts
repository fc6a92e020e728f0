/**
 * Sequence and rate rules hold across servers (issue 15, ADR 0042): two Tessera servers on one
 * PostgreSQL database, as behind a balancer. An agent's 2026-07-28 (stateless) calls alternate
 * between them; the session's labels and the rate counters live in the store, not in either
 * process. So do the approvals of high-impact calls: a retry on the other server finds the same
 * request, and an approved call runs once however the retries are spread.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statelessCall } from './fixtures/mcp-stateless.js';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import { type ServerPair, startServerPair, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const NAME = 'pair-tools';
const APPROVE = 'pair-approve';
const ISSUER = 'https://tessera.pair.test';

let pair: ServerPair;
let upstream: HttpUpstream;
let agent: { clientId: string; secret: string };
let endpoint: string;
let approveEndpoint: string;

async function admin(s: TestServer, method: string, url: string, body?: unknown) {
  const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function token(resource = endpoint): Promise<string> {
  const r = await pair.a.call('POST', '/oauth/token', {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${agent.clientId}:${agent.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  });
  if (!r.body?.access_token) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
  pair.a.track(r.body.access_token);
  pair.b.track(r.body.access_token);
  return r.body.access_token;
}

/** One stateless tools/call on server `s`: the result's text, or the error's data. */
const call = (s: TestServer, bearer: string, tool: string, args: Record<string, unknown>, server = NAME) =>
  statelessCall(s, server, bearer, tool, args, 'pair-agent');

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
  const approving = await admin(pair.a, 'POST', '/v1/mcp-servers', {
    name: APPROVE,
    url: upstream.url,
    owner: 'alice@example.com',
    policy: {
      rules: [{ id: 'pay', tool: 'transfer', effect: 'allow' }],
      tools: { transfer: { highImpact: true } },
    },
  });
  approveEndpoint = approving.endpoint;
  await admin(pair.a, 'POST', `/v1/mcp-servers/${APPROVE}/approve-tools`, {});
  const c = await createClient(pair.a, '/agents/pair', { resources: [endpoint, approveEndpoint] });
  agent = { clientId: c.clientId, secret: c.clientSecret! };
  await admin(pair.a, 'POST', '/v1/roles', { name: 'pair-calls' });
  await admin(pair.a, 'POST', '/v1/roles/pair-calls/rules', {
    ruleType: 'mcp-tool',
    path: `/${NAME}/*`,
    capabilities: ['call'],
  });
  await admin(pair.a, 'POST', '/v1/roles/pair-calls/rules', {
    ruleType: 'mcp-tool',
    path: `/${APPROVE}/*`,
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

  it('finds a pending approval on either server and runs the approved call exactly once', async () => {
    const t = await token(approveEndpoint);
    const transfer = (s: TestServer, amount: number) =>
      call(s, t, 'transfer', { amount, to: 'bob' }, APPROVE);
    const before = upstream.calls.transfer?.length ?? 0;

    const first = await transfer(pair.a, 300);
    expect(first.error).toMatchObject({ code: 'mcp_approval_required', status: 'pending' });
    const id = first.error!.approvalId as string;
    // The retry lands on the other server: the same request, still pending, not a second one.
    expect((await transfer(pair.b, 300)).error).toMatchObject({
      code: 'mcp_approval_pending',
      approvalId: id,
    });
    expect((await transfer(pair.a, 300)).error).toMatchObject({ approvalId: id, status: 'pending' });
    const asked = (await admin(pair.b, 'GET', '/v1/approvals?status=pending&limit=100')).items.filter(
      (a: { action: { server: string } }) => a.action.server === APPROVE,
    );
    expect(asked.map((a: { id: string }) => a.id)).toEqual([id]);

    await admin(pair.a, 'POST', `/v1/approvals/${id}/approve`, { comment: 'ok' });
    expect(await transfer(pair.b, 300)).toEqual({ text: 'transferred 300' });
    expect(upstream.calls.transfer!.length).toBe(before + 1);
    // Single use on both servers: a further retry needs a new approval.
    const again = await transfer(pair.a, 300);
    expect(again.error).toMatchObject({ code: 'mcp_approval_required', status: 'pending' });
    expect(again.error!.approvalId).not.toBe(id);
    expect(upstream.calls.transfer!.length).toBe(before + 1);

    // Two retries racing on the two servers for one approved grant: exactly one runs.
    await admin(pair.b, 'POST', `/v1/approvals/${again.error!.approvalId}/approve`, {});
    const raced = await Promise.all([transfer(pair.a, 300), transfer(pair.b, 300)]);
    expect(
      raced.filter((r) => r.text === 'transferred 300'),
      JSON.stringify(raced),
    ).toHaveLength(1);
    expect(raced.find((r) => r.error)?.error).toMatchObject({ code: 'mcp_approval_required' });
    expect(upstream.calls.transfer!.length).toBe(before + 2);

    // A denial holds on both servers: the retry is told so, and nothing runs.
    const denied = (await transfer(pair.b, 301)).error!.approvalId as string;
    await admin(pair.a, 'POST', `/v1/approvals/${denied}/deny`, { comment: 'no' });
    for (const s of [pair.a, pair.b])
      expect((await transfer(s, 301)).error).toMatchObject({
        code: 'mcp_approval_denied',
        approvalId: denied,
      });
    expect(upstream.calls.transfer!.length).toBe(before + 2);
  });

  it('opens one approval request for first calls racing on both servers (ADR 0051)', async () => {
    const t = await token(approveEndpoint);
    const before = upstream.calls.transfer?.length ?? 0;
    const pending = async () =>
      ((await admin(pair.a, 'GET', '/v1/approvals?status=pending&limit=100')).items as { id: string }[])
        .filter((a) => (a as unknown as { action: { server: string } }).action.server === APPROVE)
        .map((a) => a.id);
    const earlier = new Set(await pending());
    // Eight first calls of one high-impact call (same caller, tool and arguments), four on each
    // server, all in flight before any request exists.
    const raced = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(i % 2 ? pair.b : pair.a, t, 'transfer', { amount: 777, to: 'carol' }, APPROVE),
      ),
    );
    const asked = (await pending()).filter((id) => !earlier.has(id));
    expect(asked, JSON.stringify(raced)).toHaveLength(1);
    const id = asked[0]!;
    for (const r of raced)
      expect(r.error).toMatchObject({
        code: expect.stringMatching(/^mcp_approval_(required|pending)$/),
        approvalId: id,
      });
    expect(upstream.calls.transfer?.length ?? 0).toBe(before);

    // Once decided, the key is free again: after a denial's lifetime or a used grant, the same call
    // asks anew (here: approve, run once, and the next first call opens a new request).
    await admin(pair.b, 'POST', `/v1/approvals/${id}/approve`, {});
    expect(await call(pair.a, t, 'transfer', { amount: 777, to: 'carol' }, APPROVE)).toEqual({
      text: 'transferred 777',
    });
    const next = (await call(pair.b, t, 'transfer', { amount: 777, to: 'carol' }, APPROVE)).error;
    expect(next).toMatchObject({ code: 'mcp_approval_required', status: 'pending' });
    expect(next!.approvalId).not.toBe(id);
  });
});

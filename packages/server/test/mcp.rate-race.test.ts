/**
 * The rate cap under concurrent calls (issue 15, ADR 0045): the check and the recording of a call
 * are one store operation, so N + k calls in flight at once against a cap of N, with a slow
 * upstream, let exactly N through — on one SQLite server, and on two servers sharing PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statelessCall } from './fixtures/mcp-stateless.js';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import { startServerPair, type TestServer } from './harness.js';
import { createClient, startLiveServer } from './oauth.helpers.js';

const CAP = 3;
const EXTRA = 5;
const ISSUER = 'https://tessera.race.test';

const POLICY = {
  rules: [
    { id: 'capped', tool: 'transfer', effect: 'allow', when: { rate: { max: CAP, windowSeconds: 60 } } },
    { id: 'reports', tool: 'read_report', effect: 'allow' },
    { id: 'mail', tool: 'send_email', effect: 'allow' },
    {
      id: 'no-exfiltration',
      tool: 'label:external-send',
      effect: 'deny',
      when: { after: ['sensitive-read'] },
    },
  ],
  tools: { read_report: { labels: ['sensitive-read'] }, send_email: { labels: ['external-send'] } },
};

async function admin(s: TestServer, method: string, url: string, body?: unknown) {
  const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Registers the upstream on `s` and an agent allowed to call it; returns a token factory. */
async function setUp(s: TestServer, name: string, upstream: HttpUpstream) {
  const { endpoint } = await admin(s, 'POST', '/v1/mcp-servers', {
    name,
    url: upstream.url,
    owner: 'alice@example.com',
    policy: POLICY,
  });
  await admin(s, 'POST', `/v1/mcp-servers/${name}/approve-tools`, {});
  const c = await createClient(s, `/agents/${name}`, { resources: [endpoint] });
  await admin(s, 'POST', '/v1/roles', { name: `${name}-calls` });
  await admin(s, 'POST', `/v1/roles/${name}-calls/rules`, {
    ruleType: 'mcp-tool',
    path: `/${name}/*`,
    capabilities: ['call'],
  });
  await admin(s, 'POST', `/v1/roles/${name}-calls/associations`, { authMethodId: c.clientId });
  return async (tracked: TestServer[]) => {
    const r = await s.call('POST', '/oauth/token', {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: endpoint }).toString(),
    });
    if (!r.body?.access_token) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
    for (const t of tracked) t.track(r.body.access_token);
    return r.body.access_token as string;
  };
}

/** One stateless tools/call: the result's text, or the error's data. */
const call = (s: TestServer, name: string, bearer: string, tool: string, args: Record<string, unknown>) =>
  statelessCall(s, name, bearer, tool, args, 'race-agent');

/** CAP + EXTRA calls at once, spread over `servers`: exactly CAP reach the upstream. */
async function race(servers: TestServer[], name: string, bearer: string, upstream: HttpUpstream) {
  const results = await Promise.all(
    Array.from({ length: CAP + EXTRA }, (_, i) =>
      call(servers[i % servers.length]!, name, bearer, 'transfer', { amount: i, to: 'bob' }),
    ),
  );
  const passed = results.filter((r) => r.text !== undefined);
  const denied = results.filter((r) => r.error !== undefined);
  expect(passed).toHaveLength(CAP);
  expect(denied).toHaveLength(EXTRA);
  for (const d of denied) expect(d.error).toMatchObject({ code: 'mcp_denied', condition: `rate ${CAP}/60s` });
  expect(upstream.calls.transfer).toHaveLength(CAP);
}

describe('the rate cap under concurrent calls, one SQLite server', () => {
  let s: TestServer & { issuer: string };
  let upstream: HttpUpstream;
  let token: (tracked: TestServer[]) => Promise<string>;
  beforeAll(async () => {
    upstream = await startHttpUpstream({ transferDelayMs: 150 });
    s = await startLiveServer('sqlite');
    token = await setUp(s, 'race-one', upstream);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await upstream?.close();
  });

  it(`lets exactly ${CAP} of ${CAP + EXTRA} calls in flight through`, async () => {
    await race([s], 'race-one', await token([s]), upstream);
  });

  it('still denies the external send after a sensitive read (labels reserved with the call)', async () => {
    const t = await token([s]);
    expect(await call(s, 'race-one', t, 'read_report', { path: '/srv/reports/q3.pdf' })).toEqual({
      text: 'report /srv/reports/q3.pdf',
    });
    expect(
      (await call(s, 'race-one', t, 'send_email', { to: 'bob@example.com', body: 'x' })).error,
    ).toMatchObject({
      code: 'mcp_denied',
      rule: 'no-exfiltration',
    });
  });
});

describe('the rate cap under concurrent calls, two servers sharing PostgreSQL', () => {
  let pair: Awaited<ReturnType<typeof startServerPair>>;
  let upstream: HttpUpstream;
  let token: (tracked: TestServer[]) => Promise<string>;
  beforeAll(async () => {
    upstream = await startHttpUpstream({ transferDelayMs: 150 });
    pair = await startServerPair({ TESSERA_ISSUER: ISSUER });
    token = await setUp(pair.a, 'race-pair', upstream);
  }, 120_000);
  afterAll(async () => {
    await pair?.close();
    await upstream?.close();
  });

  it(`lets exactly ${CAP} of ${CAP + EXTRA} calls in flight on both servers through`, async () => {
    await race([pair.a, pair.b], 'race-pair', await token([pair.a, pair.b]), upstream);
  });
});

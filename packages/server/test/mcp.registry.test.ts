/**
 * The MCP gateway's registry on each store (SQLite and PostgreSQL): register, pin, update, call,
 * remove, with the audit of each change; and its native API refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpUpstream, startHttpUpstream } from './fixtures/mcp-upstream.js';
import { STORES, type TestServer } from './harness.js';
import { createClient, startLiveServer } from './oauth.helpers.js';

describe.each(STORES)('MCP server registry on %s', (store) => {
  let s: TestServer & { issuer: string };
  let upstream: HttpUpstream;
  const name = `reg-${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    upstream = await startHttpUpstream();
    s = await startLiveServer(store);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await upstream?.close();
  });
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });

  it('registers, pins, changes, lists and removes a server, each change audited', async () => {
    const created = await admin('POST', '/v1/mcp-servers', {
      name,
      url: upstream.url,
      owner: 'carol@example.com',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      transport: 'http',
      upstreamAuth: { kind: 'none' },
      pinnedTools: [],
    });
    const identity = await admin('GET', `/v1/identities/${created.body.identityId}`);
    expect(identity.body).toMatchObject({
      name: `/mcp/${name}`,
      kind: 'mcp-server',
      owner: 'carol@example.com',
    });
    expect((await admin('POST', '/v1/mcp-servers', { name, url: upstream.url, owner: 'x' })).status).toBe(
      409,
    );

    const approved = await admin('POST', `/v1/mcp-servers/${name}/approve-tools`, { tools: ['echo'] });
    expect(approved.body.tools.find((t: { name: string }) => t.name === 'echo').status).toBe('approved');
    expect(approved.body.tools.find((t: { name: string }) => t.name === 'transfer').status).toBe('new');
    const policy = {
      rules: [{ id: 'all', tool: '*', effect: 'allow' }],
      tools: { echo: { labels: ['safe'] } },
    };
    const changed = await admin('PATCH', `/v1/mcp-servers/${name}`, {
      policy,
      requiredScopes: ['mcp:tools'],
    });
    expect(changed.body).toMatchObject({ policy, requiredScopes: ['mcp:tools'] });
    expect(changed.body.pinnedTools.map((t: { name: string }) => t.name)).toEqual(['echo']);

    // An agent calls the pinned tool (its token carries the required scope).
    const c = await createClient(s, `/agents/reg-${name}`, {
      resources: [created.body.endpoint],
      scopes: ['mcp:tools'],
    });
    const role = `mcp-${name}`;
    await admin('POST', '/v1/roles', { name: role });
    await admin('POST', `/v1/roles/${role}/rules`, {
      ruleType: 'mcp-tool',
      path: `/${name}/*`,
      capabilities: ['call'],
    });
    await admin('POST', `/v1/roles/${role}/associations`, { authMethodId: c.clientId });
    const token = (
      (await (
        await fetch(`${s.issuer}/oauth/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            resource: created.body.endpoint,
            scope: 'mcp:tools',
          }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    s.track(token);
    const rpc = (body: unknown) =>
      fetch(created.body.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': (body as { method: string }).method,
          ...((body as { params?: { name?: string } }).params?.name
            ? { 'mcp-name': (body as { params: { name: string } }).params.name }
            : {}),
        },
        body: JSON.stringify(body),
      }).then(async (r) => (await r.json()) as any);
    const list = await rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(list.result.tools.map((t: { name: string }) => t.name)).toEqual(['echo']);
    const ok = await rpc({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: store } },
    });
    expect(ok.result.content[0].text).toBe(store);
    const unpinned = await rpc({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'transfer', arguments: { amount: 1, to: 'x' } },
    });
    expect(unpinned.error).toMatchObject({ code: -32602, data: { code: 'mcp_unknown_tool' } });

    expect((await admin('GET', '/v1/mcp-servers')).body.items.map((x: { name: string }) => x.name)).toContain(
      name,
    );
    expect((await admin('DELETE', `/v1/mcp-servers/${name}`)).status).toBe(204);
    expect((await admin('GET', `/v1/mcp-servers/${name}`)).status).toBe(404);
    expect((await admin('DELETE', `/v1/mcp-servers/${name}`)).status).toBe(404);
    const gone = await fetch(created.body.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(gone.status).toBe(404);

    const events = await admin('GET', '/v1/audit/events?limit=500');
    const types = events.body.items.map((e: { type: string }) => e.type);
    for (const t of [
      'mcp.server_added',
      'mcp.tools_approved',
      'mcp.server_changed',
      'mcp.server_removed',
      'mcp.tool_called',
    ])
      expect(types).toContain(t);
  }, 60_000);

  it('refuses bad registrations with 400 and stable reasons', async () => {
    const bad = async (body: unknown) => (await admin('POST', '/v1/mcp-servers', body)).status;
    expect(await bad({ name: 'Bad_Name', url: upstream.url, owner: 'x' })).toBe(400);
    expect(await bad({ name: 'both', url: upstream.url, command: ['node'], owner: 'x' })).toBe(400);
    expect(await bad({ name: 'neither', owner: 'x' })).toBe(400);
    expect(await bad({ name: 'creds', url: 'http://user:pw@127.0.0.1/mcp', owner: 'x' })).toBe(400);
    expect(await bad({ name: 'ftp', url: 'ftp://127.0.0.1/mcp', owner: 'x' })).toBe(400);
    expect(
      await bad({
        name: 'dup',
        url: upstream.url,
        owner: 'x',
        policy: {
          rules: [
            { id: 'a', tool: '*', effect: 'allow' },
            { id: 'a', tool: '*', effect: 'deny' },
          ],
          tools: {},
        },
      }),
    ).toBe(400);
    expect(
      await bad({
        name: 'num',
        url: upstream.url,
        owner: 'x',
        policy: {
          rules: [
            { id: 'a', tool: '*', effect: 'allow', when: { args: [{ arg: 'n', op: '<', value: 'x' }] } },
          ],
          tools: {},
        },
      }),
    ).toBe(400);
    const unreachable = await admin('POST', '/v1/mcp-servers', {
      name: `down-${name}`,
      url: 'http://127.0.0.1:9/mcp',
      owner: 'x',
    });
    expect(unreachable.status).toBe(201);
    const tools = await admin('GET', `/v1/mcp-servers/down-${name}/tools`);
    expect(tools.status).toBe(502);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STORES, startTestServer, type TestServer } from './harness.js';

/**
 * Identity as code declares MCP gateway upstreams and their tool policies (issue 17, ADR 0037):
 * plan → apply → no change, drift through the API, export → plan no change, problems with lines.
 */
describe.each(STORES)('identity as code: MCP servers on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const files = (text: string) => [{ path: 'mcp.yaml', text }];
  const plan = (text: string) =>
    s.call('POST', '/v1/config/plan', { token: s.adminToken, body: { files: files(text) } });
  const apply = (text: string, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/config/apply', { token: s.adminToken, body: { files: files(text), ...extra } });
  const mcpChanges = (body: any) => body.changes.filter((c: any) => c.kind === 'mcpServers');

  const TEXT = `
mcpServers:
  - name: tickets
    owner: alice@example.com
    url: https://tickets.internal.example/mcp
    upstreamAuth: {kind: token-exchange, audience: https://tickets.internal.example}
    requiredScopes: [tickets.write, tickets.read]
    policy:
      rules:
        - id: no-delete
          tool: delete_ticket
          effect: deny
        - id: small-reads
          tool: search
          effect: allow
          when:
            args: [{arg: limit, op: '<=', value: 50}]
      tools:
        search: {labels: [read]}
        close_ticket: {highImpact: true}
  - name: local-files
    owner: bob@example.com
    command: [node, ./fs-server.js, --root, /srv/data]
`;

  it('creates the servers and their identities, then plans no change', async () => {
    const p = await plan(TEXT);
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.summary).toEqual({ create: 2, update: 0, delete: 0 });
    expect(
      mcpChanges(p.body)
        .map((c: any) => `${c.op} ${c.name}`)
        .sort(),
    ).toEqual(['create local-files', 'create tickets']);
    const a = await apply(TEXT, { planHash: p.body.hash });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const live = await s.call('GET', '/v1/mcp-servers/tickets', { token: s.adminToken });
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({
      transport: 'http',
      url: 'https://tickets.internal.example/mcp',
      upstreamAuth: { kind: 'token-exchange', audience: 'https://tickets.internal.example' },
      timeoutSeconds: 30,
    });
    expect(live.body.policy.rules.map((r: any) => r.id)).toEqual(['no-delete', 'small-reads']);
    const stdio = await s.call('GET', '/v1/mcp-servers/local-files', { token: s.adminToken });
    expect(stdio.body).toMatchObject({
      transport: 'stdio',
      command: ['node', './fs-server.js', '--root', '/srv/data'],
    });
    const identity = await s.call('GET', `/v1/identities/${live.body.identityId}`, { token: s.adminToken });
    expect(identity.body).toMatchObject({
      name: '/mcp/tickets',
      kind: 'mcp-server',
      owner: 'alice@example.com',
    });
    const again = await plan(TEXT);
    expect(again.body.changes).toEqual([]);
    expect(again.body.summary).toEqual({ create: 0, update: 0, delete: 0 });
  });

  it('shows a policy change made through the API as drift, and export → plan shows no change', async () => {
    const patch = await s.call('PATCH', '/v1/mcp-servers/tickets', {
      token: s.adminToken,
      body: { policy: { rules: [], tools: {} }, requiredScopes: ['tickets.read'] },
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    const p = await plan(TEXT);
    expect(p.body.summary).toEqual({ create: 0, update: 1, delete: 0 });
    const [change] = mcpChanges(p.body);
    expect(change).toMatchObject({ op: 'update', kind: 'mcpServers', name: 'tickets' });
    expect(change.fields.map((f: any) => f.field).sort()).toEqual(['policy', 'requiredScopes']);
    expect(change.fields.find((f: any) => f.field === 'requiredScopes')).toMatchObject({
      from: ['tickets.read'],
      to: ['tickets.read', 'tickets.write'],
    });

    const doc = (await s.call('GET', '/v1/config/export', { token: s.adminToken })).body.document;
    expect(doc.mcpServers.map((x: any) => x.name)).toEqual(['local-files', 'tickets']);
    // The server's identity is the server's own: exported through mcpServers, not identities.
    expect((doc.identities ?? []).some((i: any) => i.name.startsWith('/mcp/'))).toBe(false);
    expect((await plan(stringify(doc))).body.changes).toEqual([]);

    const a = await apply(TEXT);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.plan.summary).toEqual({ create: 0, update: 1, delete: 0 });
    const live = await s.call('GET', '/v1/mcp-servers/tickets', { token: s.adminToken });
    expect(live.body.policy.rules.map((r: any) => r.id)).toEqual(['no-delete', 'small-reads']);
    expect((await plan(TEXT)).body.changes).toEqual([]);
  });

  it('changes the owner in place, and refuses a change of url like the API', async () => {
    const moved = TEXT.replace('alice@example.com', 'carol@example.com');
    const p = await plan(moved);
    expect(mcpChanges(p.body)).toEqual([
      expect.objectContaining({
        op: 'update',
        name: 'tickets',
        fields: [
          expect.objectContaining({ field: 'owner', from: 'alice@example.com', to: 'carol@example.com' }),
        ],
      }),
    ]);
    expect((await apply(moved)).status).toBe(200);
    const live = await s.call('GET', '/v1/mcp-servers/tickets', { token: s.adminToken });
    const identity = await s.call('GET', `/v1/identities/${live.body.identityId}`, { token: s.adminToken });
    expect(identity.body.owner).toBe('carol@example.com');

    const elsewhere = moved.replace('https://tickets.internal.example/mcp', 'https://other.example/mcp');
    const bad = await plan(elsewhere);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.problems).toEqual([
      expect.objectContaining({
        file: 'mcp.yaml',
        line: 5,
        message: expect.stringContaining('url cannot change'),
      }),
    ]);
  });

  it('reports bad files with file and line, and applies nothing', async () => {
    const cases: Array<[string, number, RegExp]> = [
      [
        'mcpServers:\n  - name: a\n    owner: x@example.com\n    url: https://a.example\n    command: [a]\n',
        4,
        /exactly one of url and command/,
      ],
      [
        'mcpServers:\n  - name: b\n    owner: x@example.com\n    url: https://user:pw@b.example\n',
        4,
        /vault, not the url/,
      ],
      [
        'mcpServers:\n  - name: c\n    owner: x@example.com\n    url: https://c.example\n    upstreamAuth: {kind: secret, item: /nowhere/token}\n',
        5,
        /nowhere/,
      ],
      [
        'mcpServers:\n  - name: d\n    owner: x@example.com\n    command: [srv]\n    upstreamAuth: {kind: token-exchange, audience: x}\n',
        5,
        /stdio server takes its credentials from its environment/,
      ],
      [
        'mcpServers:\n  - name: e\n    owner: x@example.com\n    url: https://e.example\n    policy: {rules: [], tools: {}, extra: 1}\n',
        5,
        /extra/,
      ],
      [
        'mcpServers:\n  - name: f\n    owner: x@example.com\n    url: https://f.example\n    policy:\n      rules:\n        - {id: r, tool: t, effect: allow, when: {rate: {max: 1}}}\n      tools: {}\n',
        7,
        /windowSeconds/,
      ],
    ];
    for (const [text, line, message] of cases) {
      const full = text;
      const p = await plan(full);
      expect(p.status, text).toBe(400);
      const problems = p.body.error.details.problems;
      expect(problems, text).toEqual([
        expect.objectContaining({
          file: 'mcp.yaml',
          line,
          message: expect.stringMatching(message),
        }),
      ]);
      expect((await apply(full)).status).toBe(400);
    }
    expect((await s.call('GET', '/v1/mcp-servers', { token: s.adminToken })).body.items.length).toBe(2);
  });

  it('refers to a vault item for upstream credentials, and deletes only with allowDelete', async () => {
    const withSecret = `
secrets:
  - name: /mcp/wiki-token
    value: {env: WIKI_TOKEN}
mcpServers:
  - name: wiki
    owner: dana@example.com
    url: https://wiki.example/mcp
    upstreamAuth: {kind: secret, item: /mcp/wiki-token, header: X-Api-Key}
`;
    const body = {
      files: files(withSecret),
      values: [{ ref: 'env:WIKI_TOKEN', value: 'wiki-token-value-123' }],
    };
    const p = await s.call('POST', '/v1/config/plan', { token: s.adminToken, body });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(JSON.stringify(p.body)).not.toContain('wiki-token-value-123');
    expect(mcpChanges(p.body).map((c: any) => [c.op, c.name])).toContainEqual(['create', 'wiki']);
    expect(
      mcpChanges(p.body)
        .filter((c: any) => c.op === 'delete')
        .map((c: any) => c.name)
        .sort(),
    ).toEqual(['local-files', 'tickets']);
    const refused = await s.call('POST', '/v1/config/apply', { token: s.adminToken, body });
    expect(refused.body.error.code).toBe('TESSERA_CONFIG_DELETE_REFUSED');
    const a = await s.call('POST', '/v1/config/apply', {
      token: s.adminToken,
      body: { ...body, allowDelete: true },
    });
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    const items = (await s.call('GET', '/v1/mcp-servers', { token: s.adminToken })).body.items;
    expect(items.map((x: any) => x.name)).toEqual(['wiki']);
    const doc = (await s.call('GET', '/v1/config/export', { token: s.adminToken })).body.document;
    expect(JSON.stringify(doc)).not.toContain('wiki-token-value-123');
    expect(doc.mcpServers[0].upstreamAuth).toEqual({
      kind: 'secret',
      item: '/mcp/wiki-token',
      header: 'X-Api-Key',
    });
  });
});

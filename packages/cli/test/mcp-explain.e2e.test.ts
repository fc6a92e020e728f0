import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, root, run, startConfiguredServer } from './server-process.js';

const tessera = (args: string[], env: NodeJS.ProcessEnv) =>
  run(process.execPath, [bin, ...args], env, 60_000);

/**
 * `tessera access explain` of an MCP tool call (issue 15): the caller, the server, the tool and the
 * arguments in, the rule and condition of the roles model and of the gateway's tool policy out;
 * for an agent token whose audience is the gateway URL, asked by an administrator or by the agent.
 */
describe('tessera access explain of an MCP tool call, against a real server', () => {
  let server: ConfiguredServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let endpoint: string;
  let agentToken: string;

  const ok = async (args: string[]) => {
    const r = await tessera(args, env);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** The explanation (`--json`) and the exit code: 0 allowed, 1 denied. */
  const explain = async (args: string[], as: NodeJS.ProcessEnv = env) => {
    const r = await tessera(
      ['access', 'explain', '--rule-type', 'mcp-tool', '--action', 'call', ...args],
      as,
    );
    expect([0, 1], r.stderr).toContain(r.code);
    return { code: r.code, out: r.stdout };
  };

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-mcp-explain-e2e-', { startTimeoutMs: 30_000 });
    ({ dir, env, url } = server);

    const policy = join(dir, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        rules: [
          {
            id: 'reports',
            tool: 'read_report',
            effect: 'allow',
            when: { args: [{ arg: 'path', op: 'under', value: '/srv/reports/**' }] },
          },
          {
            id: 'mail',
            tool: 'send_email',
            effect: 'allow',
            when: { args: [{ arg: 'to', op: 'glob', value: '*@example.com' }] },
          },
          {
            id: 'small-transfers',
            tool: 'transfer',
            effect: 'allow',
            when: { args: [{ arg: 'amount', op: '<=', value: 1000 }] },
          },
          {
            id: 'no-exfiltration',
            tool: 'label:external-send',
            effect: 'deny',
            when: { after: ['sensitive-read'] },
          },
        ],
        tools: {
          read_report: { labels: ['sensitive-read'] },
          send_email: { labels: ['external-send'] },
          transfer: { highImpact: true },
        },
      }),
    );
    const added = JSON.parse(
      await ok([
        'mcp-server',
        'add',
        'files',
        '--stdio',
        `node ${join(root, 'examples/mcp/files-server.mjs')}`,
        '--owner',
        'alice@example.com',
        '--policy-file',
        policy,
        '--json',
      ]),
    );
    endpoint = added.endpoint;
    await ok(['mcp-server', 'approve-tools', 'files']);
    const agent = JSON.parse(
      await ok(['oauth-client', 'create', '--name', '/agents/reporter', '--resources', endpoint, '--json']),
    );
    await ok(['create-role', '--name', 'files-agents']);
    await ok([
      'set-role-rule',
      '--role-name',
      'files-agents',
      '--rule-type',
      'mcp-tool',
      '--path',
      '/files/*',
      '--capability',
      'call',
    ]);
    await ok(['assoc-role-am', '--role-name', 'files-agents', '--am-name', '/agents/reporter']);
    const r = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${agent.client.clientId}:${agent.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: endpoint }),
    });
    agentToken = (await r.json()).access_token;
    expect(JSON.parse(Buffer.from(agentToken.split('.')[1]!, 'base64url').toString()).aud).toBe(endpoint);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it('names the rule and condition of the tool policy for the given arguments (asked for the agent token)', async () => {
    const denied = await explain([
      '--for-token',
      agentToken,
      '--path',
      '/files/send_email',
      '--arguments',
      '{"to":"eve@evil.test","body":"hi"}',
      '--json',
    ]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.out)).toMatchObject({
      allowed: false,
      role: 'files-agents',
      call: {
        allowed: false,
        stage: 'policy',
        rule: 'mail',
        condition: 'args.to glob "*@example.com"',
        reason: 'condition-failed',
      },
    });

    const allowed = await explain([
      '--for-token',
      agentToken,
      '--path',
      '/files/send_email',
      '--arguments',
      '{"to":"bob@example.com","body":"hi"}',
    ]);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(
      /^allowed by role files-agents rule \S+ \(mcp-tool \/files\/\*: call\); allowed by tool policy rule mail \(args\.to glob "\*@example\.com"\)/,
    );
    expect(allowed.out).not.toContain(agentToken);

    const big = JSON.parse(
      (
        await explain([
          '--for-token',
          agentToken,
          '--path',
          '/files/transfer',
          '--arguments',
          '{"amount":5000,"to":"bob"}',
          '--json',
        ])
      ).out,
    );
    expect(big.call).toMatchObject({
      rule: 'small-transfers',
      condition: 'args.amount <= 1000',
      approval: true,
    });
    const small = await explain([
      '--for-token',
      agentToken,
      '--path',
      '/files/transfer',
      '--arguments',
      '{"amount":200,"to":"bob"}',
    ]);
    expect(small.code).toBe(0);
    expect(small.out).toContain('runs once a human approves it (high-impact)');
    const bigText = (
      await explain([
        '--for-token',
        agentToken,
        '--path',
        '/files/transfer',
        '--arguments',
        '{"amount":5000}',
      ])
    ).out;
    expect(bigText).toMatch(
      /^denied by tool policy rule small-transfers \(args\.amount <= 1000\); the roles allow it: allowed by role files-agents/,
    );
    expect(bigText).toContain('approval: each call runs only once a human approves it (high-impact)');

    // An unpinned tool name: the catalogue stage says so.
    expect(
      JSON.parse((await explain(['--for-token', agentToken, '--path', '/files/rm_rf', '--json'])).out).call,
    ).toMatchObject({ allowed: false, stage: 'catalogue', reason: 'unknown-tool' });
    // Arguments explain a call only.
    const misuse = await tessera(
      ['access', 'explain', '--path', '/demo/db', '--action', 'read', '--arguments', '{"a":1}'],
      env,
    );
    expect(misuse.code).not.toBe(0);
  });

  it('lets the agent explain its own calls with its gateway token, history included, and nothing else', async () => {
    const asAgent = { ...env, TESSERA_TOKEN: agentToken };
    const before = await explain(
      ['--path', '/files/send_email', '--arguments', '{"to":"bob@example.com","body":"q3"}', '--json'],
      asAgent,
    );
    expect(JSON.parse(before.out)).toMatchObject({ allowed: true, call: { rule: 'mail' } });

    // The agent reads a report through the gateway (2026-07-28: the token is the session).
    const called = await fetch(`${url}/mcp/files`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${agentToken}`,
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'read_report',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'read_report',
          arguments: { path: '/srv/reports/q3.txt' },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'reporter', version: '1' },
          },
        },
      }),
    });
    expect((await called.json()).result.content[0].text).toBe('contents of /srv/reports/q3.txt');

    const after = await explain(
      ['--path', '/files/send_email', '--arguments', '{"to":"bob@example.com","body":"q3"}'],
      asAgent,
    );
    expect(after.code).toBe(1);
    expect(after.out).toMatch(/denied by tool policy rule no-exfiltration \(after sensitive-read\)/);

    // The gateway token explains calls on its own server only; no other question, no other token.
    for (const args of [
      ['access', 'explain', '--path', '/demo/db', '--action', 'read'],
      ['access', 'explain', '--rule-type', 'mcp-tool', '--path', '/other/send_email', '--action', 'call'],
      ['mcp-server', 'list'],
    ]) {
      const r = await tessera(args, asAgent);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/TESSERA_TOKEN_INVALID|not valid/);
    }
  });
});

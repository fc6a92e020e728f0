// Tessera with the MCP gateway in front of --upstream, for bench/mcp-gateway.mjs: registers the
// upstream with a policy (argument conditions, a rate rule, sequence rules), pins its tools, and
// registers an agent allowed to call them. Prints READY {endpoint, token}; serves until stopped.
// Usage: node bench/targets/tessera-mcp.mjs --upstream http://127.0.0.1:PORT/mcp [--port 9231]
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { benchPolicy } from '../lib/mcp-bench-policy.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const upstream = { info: { url: args.upstream } };
const port = Number(args.port ?? 9231);
const { tessera, dataDir, ownsDataDir, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-mcp-bench-',
});
const issuer = `http://127.0.0.1:${port}`;
const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
const adminToken = expect(
  await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
  200,
  'admin sign-in',
).token;
const policy = benchPolicy;
const created = expect(
  await call('POST', '/v1/mcp-servers', {
    token: adminToken,
    body: { name: 'bench', url: upstream.info.url, owner: 'bench@example.com', policy },
  }),
  201,
  'register the upstream',
);
expect(
  await call('POST', '/v1/mcp-servers/bench/approve-tools', { token: adminToken, body: {} }),
  200,
  'approve',
);
const client = expect(
  await call('POST', '/v1/oauth-clients', {
    token: adminToken,
    body: { name: '/bench/agent', resources: [created.endpoint], accessTokenTtlSeconds: 3600 },
  }),
  201,
  'agent',
);
expect(await call('POST', '/v1/roles', { token: adminToken, body: { name: 'bench-mcp' } }), 201, 'role');
expect(
  await call('POST', '/v1/roles/bench-mcp/rules', {
    token: adminToken,
    body: { ruleType: 'mcp-tool', path: '/bench/*', capabilities: ['call'] },
  }),
  200,
  'rule',
);
expect(
  await call('POST', '/v1/roles/bench-mcp/associations', {
    token: adminToken,
    body: { authMethodId: client.client.clientId },
  }),
  201,
  'association',
);
const tokenRes = await fetch(`${issuer}/oauth/token`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${client.client.clientId}:${client.clientSecret}`).toString('base64')}`,
  },
  body: new URLSearchParams({ grant_type: 'client_credentials', resource: created.endpoint }).toString(),
});
const { access_token: token } = await tokenRes.json();

ready({ endpoint: created.endpoint, token, adminToken, issuer });
onStop(async () => {
  await tessera.close();
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
});

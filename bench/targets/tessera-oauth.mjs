// Tessera's token endpoint for issue 12: client_credentials with private_key_jwt (EdDSA client
// key) and a DPoP proof, durable audit on (SQLite, or --store postgres://…). Registers the client
// with the given public JWK, then serves.
// Usage: node bench/targets/tessera-oauth.mjs --port 9107 --client-jwk '<public JWK json>'
//        [--jwks-uri 1]: publish the key on a loopback JWKS server and register the client's
//        `jwksUri` instead of inline `jwks` (issue 12, ADR 0034: the fetched-and-cached path).
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9107);
const RESOURCE = 'urn:tessera-bench:api';
const { server, tessera, dataDir, ownsDataDir, storeUrl, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-oauth-bench-',
});
const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
const adminToken = expect(
  await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
  200,
  'admin sign-in',
).token;
const clientJwks = { keys: [JSON.parse(args['client-jwk'])] };
let jwksServer = null;
let keys = { jwks: clientJwks };
if (args['jwks-uri']) {
  jwksServer = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(clientJwks)),
  );
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  keys = { jwksUri: `http://127.0.0.1:${jwksServer.address().port}/jwks.json` };
}
const client = expect(
  await call('POST', '/v1/oauth-clients', {
    token: adminToken,
    body: {
      name: '/bench/oauth-client',
      tokenEndpointAuthMethod: 'private_key_jwt',
      ...keys,
      scopes: ['api:read'],
      resources: [RESOURCE],
      dpopBoundAccessTokens: true,
    },
  }),
  201,
  'register the OAuth client',
).client;
// For the introspection and exchange figures: a secret client, its token, and an actor allowed to
// exchange that client's tokens.
const subject = expect(
  await call('POST', '/v1/oauth-clients', {
    token: adminToken,
    body: { name: '/bench/subject', scopes: ['api:read'], accessTokenTtlSeconds: 3600 },
  }),
  201,
  'register the subject client',
);
const actor = expect(
  await call('POST', '/v1/oauth-clients', {
    token: adminToken,
    body: { name: '/bench/actor', resources: [RESOURCE], mayActFor: [subject.client.clientId] },
  }),
  201,
  'register the actor client',
);
// A token carries only the scopes the client's roles grant: one role grants `api:read` to both.
expect(
  await call('POST', '/v1/roles', { token: adminToken, body: { name: 'bench-scopes' } }),
  201,
  'scope role',
);
expect(
  await call('POST', '/v1/roles/bench-scopes/rules', {
    token: adminToken,
    body: { ruleType: 'scope', path: '/api:read', capabilities: ['read'] },
  }),
  200,
  'scope rule',
);
for (const authMethodId of [client.clientId, subject.client.clientId])
  expect(
    await call('POST', '/v1/roles/bench-scopes/associations', { token: adminToken, body: { authMethodId } }),
    201,
    'scope role association',
  );
const basic = (c) => `Basic ${Buffer.from(`${c.client.clientId}:${c.clientSecret}`).toString('base64')}`;
const subjectToken = JSON.parse(
  (
    await tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(subject) },
      payload: 'grant_type=client_credentials&scope=api%3Aread',
    })
  ).body,
).access_token;
const nonce = (
  await tessera.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: '',
  })
).headers['dpop-nonce'];
ready({
  target: 'tessera-oauth',
  url: server.url,
  path: '/oauth/token',
  tokenEndpoint: `${server.url}/oauth/token`,
  audience: server.url,
  clientId: client.clientId,
  resource: RESOURCE,
  scope: 'api:read',
  nonce,
  introspect: {
    path: '/oauth/introspect',
    authorization: basic(subject),
    body: new URLSearchParams({ token: subjectToken }).toString(),
  },
  exchange: {
    path: '/oauth/token',
    authorization: basic(actor),
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      resource: RESOURCE,
    }).toString(),
  },
  dataDir,
  storeUrl,
  pid: process.pid,
});
onStop(async () => {
  jwksServer?.close();
  await server.close();
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
});

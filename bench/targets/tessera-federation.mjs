// Issue 13: Tessera with an oidc_federation method trusting a local OIDC issuer (node:http + jose,
// discovery + JWKS, in this process), and a UID method, so that federated JWT → session and UID
// token → session are measured in the same run. Durable audit on (SQLite, or --store postgres://…).
// Usage: node bench/targets/tessera-federation.mjs --port 9108
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { startBenchTessera } from '../lib/tessera-target.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9108);
const AUD = 'https://tessera.bench';

// The issuer: one RS256 key (GitHub Actions signs with RS256).
const { privateKey, publicKey } = await generateKeyPair('RS256');
const kid = randomUUID();
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
let issuerUrl = '';
const issuer = createServer((req, res) => {
  const send = (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.url === '/.well-known/openid-configuration')
    send({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys` });
  else if (req.url === '/keys') send(jwks);
  else res.writeHead(404).end();
});
await new Promise((resolve) => issuer.listen(0, '127.0.0.1', resolve));
issuerUrl = `http://127.0.0.1:${issuer.address().port}`;

const { server, dataDir, ownsDataDir, storeUrl, call, expect } = await startBenchTessera({
  args,
  port,
  dataDirPrefix: 'tessera-federation-bench-',
});
const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
const adminToken = expect(
  await call('POST', '/v1/auth', { body: { accessType: 'access_key', ...admin } }),
  200,
  'admin sign-in',
).token;
const fed = expect(
  await call('POST', '/v1/auth-methods', {
    token: adminToken,
    body: {
      type: 'oidc_federation',
      name: '/bench/github',
      preset: 'github-actions',
      issuer: issuerUrl,
      audience: AUD,
      algorithms: ['RS256'],
      boundClaims: { repository: 'acme/*', ref: 'refs/heads/main', environment: ['production', 'staging'] },
      jwtTtlSeconds: 3600,
      // The same token is presented on every request: this measures verification, not replay.
      oneTimeTokens: false,
    },
  }),
  201,
  'create the oidc_federation method',
).authMethod;
const nowS = Math.floor(Date.now() / 1000);
// A GitHub Actions shaped token, valid for the whole run (the method accepts an iat up to 1 h old).
const jwt = await new SignJWT({
  sub: 'repo:acme/app:environment:production',
  aud: AUD,
  iss: issuerUrl,
  repository: 'acme/app',
  repository_owner: 'acme',
  ref: 'refs/heads/main',
  environment: 'production',
  job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
  event_name: 'push',
  jti: randomUUID(),
  iat: nowS,
  nbf: nowS,
  exp: nowS + 3000,
})
  .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
  .sign(privateKey);
const federatedBody = JSON.stringify({ accessType: 'oidc_federation', accessId: fed.id, jwt });

expect(
  await call('POST', '/v1/auth-methods', {
    token: adminToken,
    body: { type: 'universal_identity', name: '/bench/uid', ttlSeconds: 86_400, jwtTtlSeconds: 3600 },
  }),
  201,
  'create the UID method',
);
const uidToken = expect(
  await call('POST', '/v1/uid/tokens', { token: adminToken, body: { authMethodName: '/bench/uid' } }),
  201,
  'generate a root token',
).token;
const uidBody = JSON.stringify({ accessType: 'universal_identity', uidToken });
// One real exchange of each before anyone measures (the first federated one fetches the JWKS).
for (const body of [federatedBody, uidBody])
  expect(await call('POST', '/v1/auth', { body: JSON.parse(body) }), 200, 'auth probe');

ready({ target: 'tessera-federation', url: server.url, federatedBody, uidBody, storeUrl, pid: process.pid });
onStop(async () => {
  await server.close();
  await new Promise((resolve) => issuer.close(resolve));
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
});

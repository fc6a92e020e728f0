// Reference: oidc-provider 9, client_credentials grant, JWT access tokens signed EdDSA (Ed25519),
// client authenticated with client_secret_post. Default (in-memory) adapter.
// Usage: node bench/targets/oidc-provider.mjs --port 9103
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9103);
const issuer = `http://127.0.0.1:${port}`;
export const CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789abcdef0123456789abcdef' };
export const RESOURCE = 'urn:tessera-bench:api';

const { privateKey } = generateKeyPairSync('ed25519');
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-ed25519', alg: 'EdDSA', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'EdDSA',
    },
  ],
  jwks: { keys: [jwk] },
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: RESOURCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});
provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));

const server = createServer(provider.callback());
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

// Check it really issues an EdDSA JWT before anyone measures it.
const body = new URLSearchParams({
  grant_type: 'client_credentials',
  client_id: CLIENT.id,
  client_secret: CLIENT.secret,
  scope: 'api:read',
  resource: RESOURCE,
}).toString();
const res = await fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body,
});
const json = await res.json();
const parts = typeof json.access_token === 'string' ? json.access_token.split('.') : [];
const header = parts.length === 3 ? JSON.parse(Buffer.from(parts[0], 'base64url').toString()) : null;
if (res.status !== 200 || !header || header.alg !== 'EdDSA') {
  console.error(`oidc-provider did not issue an EdDSA JWT: ${res.status} ${JSON.stringify(json)}`);
  process.exit(1);
}
ready({
  target: 'oidc-provider',
  url: issuer,
  path: '/token',
  contentType: 'application/x-www-form-urlencoded',
  body,
  check: {
    alg: header.alg,
    typ: header.typ,
    claims: Object.keys(JSON.parse(Buffer.from(parts[1], 'base64url').toString())),
  },
});
onStop(() => new Promise((resolve) => server.close(resolve)));

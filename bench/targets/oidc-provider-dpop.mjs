// Reference for issue 12: oidc-provider 9, client_credentials with private_key_jwt (EdDSA client
// key), DPoP-bound (EdDSA proof) EdDSA JWT access tokens, a resource indicator. Default (in-memory)
// adapter, so its `jti` replay store costs it nothing durable.
// Usage: node bench/targets/oidc-provider-dpop.mjs --port 9106 --client-jwk '<public JWK json>'
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';
import { onStop, parseArgs, ready } from '../lib/args.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9106);
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'urn:tessera-bench:api';
const clientJwk = JSON.parse(args['client-jwk']);

const { privateKey } = generateKeyPairSync('ed25519');
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-ed25519', alg: 'EdDSA', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-client',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'EdDSA',
      jwks: { keys: [clientJwk] },
      dpop_bound_access_tokens: true,
      id_token_signed_response_alg: 'EdDSA',
    },
  ],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: RESOURCE,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});
provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
const server = createServer(provider.callback());
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
ready({
  target: 'oidc-provider-dpop',
  url: issuer,
  path: '/token',
  tokenEndpoint: `${issuer}/token`,
  audience: issuer,
  clientId: 'bench-client',
  resource: RESOURCE,
  scope: 'api:read',
});
onStop(() => new Promise((resolve) => server.close(resolve)));

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './harness.js';
import { createClient, freePort, startLiveServer } from './oauth.helpers.js';

/** A signing key pair and its public JWK (with kid). */
async function keyPair(kid: string, alg: 'ES256' | 'Ed25519' = 'ES256') {
  const pair = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid };
  return { ...pair, kid, publicJwk, privateJwk };
}

/**
 * `jwks_uri` for private_key_jwt clients (issue 12): a real JWKS server on 127.0.0.1 publishes the
 * client's keys; oauth4webapi signs the assertions.
 */
describe('OAuth private_key_jwt clients with a jwks_uri', () => {
  let s: TestServer & { issuer: string };
  let as: oauth.AuthorizationServer;
  let jwksServer: Server;
  let jwksUrl = '';
  /** What each path of the JWKS server serves (status, body). */
  const published = new Map<string, { status: number; body: unknown }>();
  const fetches = new Map<string, number>();
  /** The server's clock runs this far ahead of the wall clock (to pass the refresh interval). */
  let offsetMs = 0;
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  const lastAudit = async (type: string) =>
    (await s.call('GET', `/v1/audit/events?type=${type}&limit=1`, { token: s.adminToken })).body.items[0];

  /** A client_credentials request with an assertion signed by `key`; the raw response. */
  async function tokenRequest(clientId: string, key: { privateKey: CryptoKey; kid: string }) {
    const client = { client_id: clientId };
    return oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.PrivateKeyJwt(key.kid ? { key: key.privateKey, kid: key.kid } : { key: key.privateKey }),
      { scope: 'read' },
      insecure,
    );
  }

  async function expectToken(clientId: string, key: { privateKey: CryptoKey; kid: string }) {
    const response = await tokenRequest(clientId, key);
    const tokens = await oauth.processClientCredentialsResponse(as, { client_id: clientId }, response);
    s.track(tokens.access_token);
    expect(tokens.token_type).toBe('bearer');
    return tokens;
  }

  async function expectInvalidClient(clientId: string, key: { privateKey: CryptoKey; kid: string }) {
    const response = await tokenRequest(clientId, key);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
  }

  beforeAll(async () => {
    jwksServer = createServer((req, res) => {
      const path = req.url ?? '/';
      fetches.set(path, (fetches.get(path) ?? 0) + 1);
      if (path === '/redirect') return void res.writeHead(302, { location: `${jwksUrl}/rotating` }).end();
      const entry = published.get(path);
      if (!entry) return void res.writeHead(404).end();
      res.writeHead(entry.status, { 'content-type': 'application/json' }).end(JSON.stringify(entry.body));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
    s = await startLiveServer();
    // The server's clock: the wall clock plus an offset the tests move (startLiveServer's timer
    // keeps writing the wall clock; this ignores it).
    Object.defineProperty(s.clock, 'ms', {
      get: () => Date.now() + offsetMs,
      set: () => {},
      configurable: true,
    });
    const issuer = new URL(s.issuer);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
  });
  afterAll(async () => {
    await s?.close();
    await new Promise<void>((r) => jwksServer.close(() => r()));
  });

  it('gets a token with a key published at the URI; rotation works once the unknown-kid refresh is allowed', async () => {
    const k1 = await keyPair('k1');
    const k2 = await keyPair('k2', 'Ed25519');
    published.set('/rotating', { status: 200, body: { keys: [k1.publicJwk] } });
    const c = await createClient(s, 'svc-jwks-uri', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: `${jwksUrl}/rotating`,
      scopes: ['read'],
    });
    expect(c.body.client).toMatchObject({ jwksUri: `${jwksUrl}/rotating`, jwks: null });
    expect(c.clientSecret).toBeUndefined();

    await expectToken(c.clientId, k1);
    await expectToken(c.clientId, k1); // cached: no second fetch
    expect(fetches.get('/rotating')).toBe(1);

    // The client rotates: k2 replaces k1 at the URI.
    published.set('/rotating', { status: 200, body: { keys: [k2.publicJwk] } });
    // Within the refresh interval an unknown kid does not fetch again (random kids cannot hammer the URI).
    await expectInvalidClient(c.clientId, k2);
    expect(fetches.get('/rotating')).toBe(1);
    expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({ reason: 'assertion_unknown_key' });

    offsetMs += 11_000;
    await expectToken(c.clientId, k2);
    expect(fetches.get('/rotating')).toBe(2);
    // The retired key is gone from the set: refused.
    await expectInvalidClient(c.clientId, k1);
    expect(fetches.get('/rotating')).toBe(2);
  });

  it('rotation without kids: a signature no cached key verifies refreshes the set (same bound)', async () => {
    const a = await keyPair('a');
    const b = await keyPair('b');
    const bare = (jwk: Record<string, unknown>) => {
      const { kid: _kid, ...rest } = jwk;
      return rest;
    };
    published.set('/nokid', { status: 200, body: { keys: [bare(a.publicJwk)] } });
    const c = await createClient(s, 'svc-jwks-nokid', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: `${jwksUrl}/nokid`,
      scopes: ['read'],
    });
    const noKid = (k: typeof a) => ({ privateKey: k.privateKey }) as { privateKey: CryptoKey; kid: string };
    await expectToken(c.clientId, noKid(a));
    published.set('/nokid', { status: 200, body: { keys: [bare(b.publicJwk)] } });
    await expectInvalidClient(c.clientId, noKid(b));
    expect(fetches.get('/nokid')).toBe(1);
    offsetMs += 11_000;
    await expectToken(c.clientId, noKid(b));
    expect(fetches.get('/nokid')).toBe(2);
  });

  it('registers a jwks_uri client through RFC 7591 and answers its metadata', async () => {
    const key = await keyPair('dyn-1');
    published.set('/dynamic', { status: 200, body: { keys: [key.publicJwk] } });
    const r = await s.call('POST', '/oauth/register', {
      token: s.adminToken,
      body: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${jwksUrl}/dynamic` },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    s.track(r.body.registration_access_token);
    expect(r.body.jwks_uri).toBe(`${jwksUrl}/dynamic`);
    expect(r.body.jwks).toBeUndefined();
    expect(r.body.client_secret).toBeUndefined();
    const client = { client_id: r.body.client_id as string };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
      {},
      insecure,
    );
    const tokens = await oauth.processClientCredentialsResponse(as, client, response);
    s.track(tokens.access_token);
    // RFC 7592 read answers the same metadata.
    const read = await s.call('GET', `/oauth/register/${client.client_id}`, {
      token: r.body.registration_access_token,
    });
    expect(read.body.jwks_uri).toBe(`${jwksUrl}/dynamic`);
    // RFC 7592 update: the metadata sent replaces the client's; both at once is refused.
    const both = await s.call('PUT', `/oauth/register/${client.client_id}`, {
      token: r.body.registration_access_token,
      body: {
        client_id: client.client_id,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${jwksUrl}/dynamic`,
        jwks: { keys: [key.publicJwk] },
      },
    });
    expect(both.status).toBe(400);
    expect(both.body.error).toBe('invalid_client_metadata');
    const inline = await s.call('PUT', `/oauth/register/${client.client_id}`, {
      token: r.body.registration_access_token,
      body: {
        client_id: client.client_id,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [key.publicJwk] },
      },
    });
    expect(inline.status, JSON.stringify(inline.body)).toBe(200);
    expect(inline.body.jwks_uri).toBeUndefined();
    expect(inline.body.jwks).toEqual({ keys: [key.publicJwk] });
  });

  it('refuses a private key published at the URI: invalid_client, the precise reason audited', async () => {
    const key = await keyPair('priv-1');
    published.set('/private', { status: 200, body: { keys: [key.privateJwk] } });
    const c = await createClient(s, 'svc-jwks-private', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: `${jwksUrl}/private`,
      scopes: ['read'],
    });
    await expectInvalidClient(c.clientId, key);
    expect(fetches.get('/private')).toBe(1);
    expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({ reason: 'client_jwks_unavailable' });
  });

  it('an unreachable, failing or redirecting URI gives invalid_client, never a 5xx', async () => {
    const key = await keyPair('down-1');
    published.set('/failing', { status: 500, body: { error: 'down' } });
    published.set('/not-a-set', { status: 200, body: { hello: 'world' } });
    published.set('/rotating', { status: 200, body: { keys: [key.publicJwk] } });
    const closedPort = await freePort();
    for (const [name, uri] of [
      ['closed', `http://127.0.0.1:${closedPort}/keys`],
      ['failing', `${jwksUrl}/failing`],
      ['not-a-set', `${jwksUrl}/not-a-set`],
      ['missing', `${jwksUrl}/missing`],
      // Redirects are not followed, even to a set that holds the key.
      ['redirect', `${jwksUrl}/redirect`],
    ]) {
      const c = await createClient(s, `svc-jwks-${name}`, {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwksUri: uri,
        scopes: ['read'],
      });
      await expectInvalidClient(c.clientId, key);
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({
        reason: 'client_jwks_unavailable',
      });
    }
    expect(fetches.get('/rotating')).toBeGreaterThan(0);
  });

  it('native API: jwks and jwksUri are exclusive; https only (http on loopback); private_key_jwt only', async () => {
    const key = await keyPair('x-1');
    const create = (name: string, body: Record<string, unknown>) =>
      s.call('POST', '/v1/oauth-clients', { token: s.adminToken, body: { name, ...body } });
    for (const bad of [
      {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwksUri: `${jwksUrl}/k`,
        jwks: { keys: [key.publicJwk] },
      },
      { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://jwks.example/keys' },
      { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'not a url' },
      { tokenEndpointAuthMethod: 'client_secret_basic', jwksUri: 'https://jwks.example/keys' },
    ]) {
      const r = await create('/bad-jwks-uri', bad);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    }
    // Setting one replaces the other.
    const c = await createClient(s, 'svc-jwks-switch', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://jwks.example/keys',
    });
    const inline = await s.call('PATCH', `/v1/oauth-clients/${c.clientId}`, {
      token: s.adminToken,
      body: { jwks: { keys: [key.publicJwk] } },
    });
    expect(inline.status, JSON.stringify(inline.body)).toBe(200);
    expect(inline.body).toMatchObject({ jwksUri: null, jwks: { keys: [key.publicJwk] } });
    const back = await s.call('PATCH', `/v1/oauth-clients/${c.clientId}`, {
      token: s.adminToken,
      body: { jwksUri: 'https://jwks.example/keys' },
    });
    expect(back.body).toMatchObject({ jwksUri: 'https://jwks.example/keys', jwks: null });
    // Neither left: refused.
    const none = await s.call('PATCH', `/v1/oauth-clients/${c.clientId}`, {
      token: s.adminToken,
      body: { jwksUri: null },
    });
    expect(none.status).toBe(400);
  });
});

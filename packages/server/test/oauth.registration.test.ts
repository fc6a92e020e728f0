import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

const REGISTER = '/oauth/register';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe.each(STORES)('OAuth dynamic client registration (RFC 7591, RFC 7592) on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const register = async (body: unknown, token: string | undefined = s.adminToken) => {
    const r = await s.call('POST', REGISTER, { ...(token ? { token } : {}), body });
    if (r.body?.client_secret) s.track(r.body.client_secret);
    if (r.body?.registration_access_token) s.track(r.body.registration_access_token);
    return r;
  };
  const clientCredentials = async (clientId: string, secret: string) =>
    s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      payload: 'grant_type=client_credentials',
    });
  const expectError = (r: { status: number; body: any }, status: number, error: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.error).toBe(error);
  };

  it('publishes the registration endpoint in the metadata', async () => {
    const r = await s.call('GET', '/.well-known/oauth-authorization-server');
    expect(r.body.registration_endpoint).toBe('http://tessera.test/oauth/register');
  });

  it('registers a client with an initial access token; the secret works and is stored hashed', async () => {
    const r = await register({ client_name: '/dyn/billing', grant_types: ['client_credentials'] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      client_name: '/dyn/billing',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      client_secret_expires_at: 0,
      registration_client_uri: `http://tessera.test/oauth/register/${r.body.client_id}`,
    });
    expect(r.body.client_secret).toMatch(/^tcs-/);
    expect(r.body.registration_access_token).toMatch(/^trt-/);
    const token = await clientCredentials(r.body.client_id, r.body.client_secret);
    expect(token.statusCode, token.body).toBe(200);
    s.track(JSON.parse(token.body).access_token);
    // The registration access token is stored as its hash only.
    const rows = await (s.tessera.store.db as any)
      .selectFrom('oauth_registration_tokens')
      .selectAll()
      .execute();
    const row = rows.find((x: any) => x.client_id === r.body.client_id);
    expect(row.token_hash).toBe(createHash('sha256').update(r.body.registration_access_token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(r.body.registration_access_token);
    // The client is an auth method like any other: the native API lists it.
    const native = await s.call('GET', `/v1/oauth-clients/${r.body.client_id}`, { token: s.adminToken });
    expect(native.body.name).toBe('/dyn/billing');
  });

  it('a client may use only the grant types it registered (unauthorized_client otherwise), audited', async () => {
    const exchangeOnly = await register({
      client_name: '/dyn/exchange-only',
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    });
    expect(exchangeOnly.status, JSON.stringify(exchangeOnly.body)).toBe(201);
    expect(exchangeOnly.body.grant_types).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange']);
    const refused = await clientCredentials(exchangeOnly.body.client_id, exchangeOnly.body.client_secret);
    expectError({ status: refused.statusCode, body: JSON.parse(refused.body) }, 400, 'unauthorized_client');
    const audit = await s.call('GET', '/v1/audit/events?type=oauth.token_refused&limit=1', {
      token: s.adminToken,
    });
    expect(audit.body.items[0]).toMatchObject({
      reason: 'grant_type_not_allowed',
      data: { grantType: 'client_credentials' },
    });
    expectError(
      await register({ client_name: '/dyn/no-grants', grant_types: [] }),
      400,
      'invalid_client_metadata',
    );
    // The native API shows and changes the same setting; null is every grant the settings enable.
    const id = exchangeOnly.body.client_id as string;
    const native = await s.call('GET', `/v1/oauth-clients/${id}`, { token: s.adminToken });
    expect(native.body.grantTypes).toEqual(['urn:ietf:params:oauth:grant-type:token-exchange']);
    const bad = await s.call('PATCH', `/v1/oauth-clients/${id}`, {
      token: s.adminToken,
      body: { grantTypes: ['authorization_code'] },
    });
    expect(bad.status).toBe(400);
    const opened = await s.call('PATCH', `/v1/oauth-clients/${id}`, {
      token: s.adminToken,
      body: { grantTypes: null },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    expect(opened.body.grantTypes).toBeNull();
    const issued = await clientCredentials(id, exchangeOnly.body.client_secret);
    expect(issued.statusCode, issued.body).toBe(200);
    s.track(JSON.parse(issued.body).access_token);
  });

  it('refuses registration without a valid initial access token, or without create on the path', async () => {
    expectError(await register({ client_name: '/dyn/x' }, ''), 401, 'invalid_token');
    expectError(await register({ client_name: '/dyn/x' }, 'not-a-token'), 401, 'invalid_token');
    // A session without rights on auth-method:/dyn/x: a registered client's own access token.
    const c = await register({ client_name: '/dyn/no-rights' });
    const token = JSON.parse(
      (await clientCredentials(c.body.client_id, c.body.client_secret)).body,
    ).access_token;
    s.track(token);
    expectError(await register({ client_name: '/dyn/x' }, token), 403, 'insufficient_scope');
    const denied = await s.call('GET', '/v1/audit/events?type=access.denied&limit=1', {
      token: s.adminToken,
    });
    expect(denied.body.items[0]).toMatchObject({ resource: '/dyn/x' });
    expect(
      (await s.call('GET', '/v1/auth-methods?limit=200', { token: s.adminToken })).body.items,
    ).not.toEqual(expect.arrayContaining([expect.objectContaining({ name: '/dyn/x' })]));
  });

  it('refuses bad metadata with invalid_client_metadata or invalid_redirect_uri', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    expectError(
      await register({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateJwk] } }),
      400,
      'invalid_client_metadata',
    );
    expectError(
      await register({ token_endpoint_auth_method: 'private_key_jwt' }),
      400,
      'invalid_client_metadata',
    );
    // jwks_uri: https (http only on loopback), never with jwks, only for private_key_jwt.
    const publicJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
    for (const bad of [
      { jwks_uri: 'https://x.test/jwks', jwks: { keys: [publicJwk] } },
      { jwks_uri: 'http://x.test/jwks' },
      { jwks_uri: 'ftp://x.test/jwks' },
      { jwks_uri: 'https://x.test/jwks#frag' },
      { jwks_uri: 42 },
    ])
      expectError(
        await register({ token_endpoint_auth_method: 'private_key_jwt', ...bad }),
        400,
        'invalid_client_metadata',
      );
    expectError(
      await register({ token_endpoint_auth_method: 'client_secret_basic', jwks_uri: 'https://x.test/jwks' }),
      400,
      'invalid_client_metadata',
    );
    expectError(await register({ redirect_uris: ['https://app.test/cb'] }), 400, 'invalid_redirect_uri');
    expectError(await register({ grant_types: ['authorization_code'] }), 400, 'invalid_client_metadata');
    expectError(await register({ token_endpoint_auth_method: 'none' }), 400, 'invalid_client_metadata');
    expectError(await register({ scope: 42 }), 400, 'invalid_client_metadata');
    expectError(await register({ client_name: 'not a path!' }), 400, 'invalid_client_metadata');
    expectError(await register([1, 2]), 400, 'invalid_client_metadata');
    await register({ client_name: '/dyn/taken' });
    expectError(await register({ client_name: '/dyn/taken' }), 400, 'invalid_client_metadata');
    const notJson = await s.tessera.app.inject({
      method: 'POST',
      url: REGISTER,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s.adminToken}` },
      payload: '{not json',
    });
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body).error).toBe('invalid_client_metadata');
    const form = await s.tessera.app.inject({
      method: 'POST',
      url: REGISTER,
      headers: { ...FORM, authorization: `Bearer ${s.adminToken}` },
      payload: 'client_name=/dyn/form',
    });
    expect(form.statusCode).toBeGreaterThanOrEqual(400);
    expect(form.statusCode).toBeLessThan(500);
  });

  it('registers a private_key_jwt client with public keys only', async () => {
    const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const r = await register({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'EdDSA' }] },
      scope: 'read write',
      dpop_bound_access_tokens: true,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.client_secret).toBeUndefined();
    expect(r.body).toMatchObject({ scope: 'read write', dpop_bound_access_tokens: true });
    expect(r.body.client_name).toMatch(/^\/oauth-dynamic\//);
  });

  it('reads, updates and deletes a client with its registration access token (RFC 7592)', async () => {
    const a = await register({ client_name: '/dyn/managed', scope: 'read' });
    const b = await register({ client_name: '/dyn/other' });
    const uri = `${REGISTER}/${a.body.client_id}`;
    const rat = a.body.registration_access_token as string;

    const read = await s.call('GET', uri, { token: rat });
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body).toMatchObject({ client_id: a.body.client_id, scope: 'read' });
    expect(read.body.client_secret).toBeUndefined();
    expect(read.body.registration_access_token).toBeUndefined();
    // Another client's token, a session token, or none: the same 401.
    expectError(await s.call('GET', uri, { token: b.body.registration_access_token }), 401, 'invalid_token');
    expectError(await s.call('GET', uri, { token: s.adminToken }), 401, 'invalid_token');
    expectError(await s.call('GET', uri), 401, 'invalid_token');
    expectError(await s.call('GET', `${REGISTER}/p-nosuchclient`, { token: rat }), 401, 'invalid_token');

    const updated = await s.call('PUT', uri, {
      token: rat,
      body: { client_id: a.body.client_id, scope: 'read write', dpop_bound_access_tokens: true },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ scope: 'read write', dpop_bound_access_tokens: true });
    expectError(
      await s.call('PUT', uri, { token: rat, body: { client_id: b.body.client_id } }),
      400,
      'invalid_request',
    );
    expectError(
      await s.call('PUT', uri, { token: rat, body: { redirect_uris: ['https://x.test/cb'] } }),
      400,
      'invalid_redirect_uri',
    );

    expect((await s.call('DELETE', uri, { token: b.body.registration_access_token })).status).toBe(401);
    expect((await s.call('DELETE', uri, { token: rat })).status).toBe(204);
    expectError(await s.call('GET', uri, { token: rat }), 401, 'invalid_token');
    const gone = await clientCredentials(a.body.client_id, a.body.client_secret);
    expect(gone.statusCode).toBe(401);
    const rows = await (s.tessera.store.db as any)
      .selectFrom('oauth_registration_tokens')
      .selectAll()
      .execute();
    expect(rows.map((x: any) => x.client_id)).not.toContain(a.body.client_id);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

/** The outbound-fetch guard at registration (ADR 0039): URLs a client gives Tessera to fetch. */
describe('client-supplied URLs on private addresses', () => {
  let strict: TestServer;
  let listed: TestServer;

  beforeAll(async () => {
    // No allow-list at all (the harness allows 127.0.0.0/8 unless told otherwise).
    strict = await startTestServer('sqlite', { TESSERA_OUTBOUND_ALLOW: '' });
    listed = await startTestServer('sqlite', { TESSERA_OUTBOUND_ALLOW: '10.0.0.0/8,169.254.169.254' });
  }, 180_000); // two servers on a loaded machine
  afterAll(async () => {
    await strict?.close();
    await listed?.close();
  });

  const register = (s: TestServer, body: Record<string, unknown>) =>
    s.call('POST', '/oauth/register', {
      token: s.adminToken,
      body: { token_endpoint_auth_method: 'private_key_jwt', ...body },
    });
  const create = (s: TestServer, name: string, body: Record<string, unknown>) =>
    s.call('POST', '/v1/oauth-clients', { token: s.adminToken, body: { name, ...body } });

  it.each([
    ['https://10.0.0.5/jwks.json', 'private'],
    ['https://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://127.0.0.1:9/jwks.json', 'loopback'],
  ])('RFC 7591 registration refuses jwks_uri %s (%s) with invalid_client_metadata', async (uri, reason) => {
    const r = await register(strict, { jwks_uri: uri });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toBe('invalid_client_metadata');
    expect(r.body.error_description).toContain(reason.replace('_', '-'));
  });

  it('the native API refuses a private jwksUri and CIBA ping endpoint with a stable code and reason', async () => {
    const jwks = await create(strict, '/agents/ssrf-jwks', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://10.1.2.3/keys',
    });
    expect(jwks.status, JSON.stringify(jwks.body)).toBe(400);
    expect(jwks.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    expect(jwks.body.error.details).toMatchObject({ field: 'jwksUri', reason: 'outbound_private' });
    const ping = await create(strict, '/agents/ssrf-ping', {
      cibaDeliveryMode: 'ping',
      cibaNotificationEndpoint: 'https://169.254.169.254/notify',
    });
    expect(ping.status, JSON.stringify(ping.body)).toBe(400);
    expect(ping.body.error.details).toMatchObject({
      field: 'cibaNotificationEndpoint',
      reason: 'outbound_metadata',
    });
    // A name is judged when it is resolved, at fetch time.
    const named = await create(strict, '/agents/ssrf-named', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwksUri: 'https://keys.example.com/jwks.json',
    });
    expect(named.status, JSON.stringify(named.body)).toBe(201);
  });

  it('allowed when the operator lists the range', async () => {
    const r = await register(listed, { jwks_uri: 'https://10.0.0.5/jwks.json' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    listed.track(r.body.registration_access_token);
    const ping = await create(listed, '/agents/listed-ping', {
      cibaDeliveryMode: 'ping',
      cibaNotificationEndpoint: 'https://169.254.169.254/notify',
    });
    expect(ping.status, JSON.stringify(ping.body)).toBe(201);
    // Outside the listed ranges it is still refused.
    const other = await register(listed, { jwks_uri: 'https://192.168.1.1/jwks.json' });
    expect(other.body.error).toBe('invalid_client_metadata');
  });
});

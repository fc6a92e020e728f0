import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Issue 12 "Abuse": the per-client cap on issued tokens (ADR 0039). */
describe.each(STORES)('OAuth per-client token cap on %s', (store) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(store, {
      TESSERA_OAUTH_CLIENT_TOKEN_LIMIT: '3',
      TESSERA_OAUTH_CLIENT_TOKEN_WINDOW_SECONDS: '120',
    });
  });
  afterAll(() => s?.close());

  const grant = async (c: { clientId: string; clientSecret?: string }) => {
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: 'grant_type=client_credentials',
      headers: {
        ...FORM,
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      },
    });
    const body = JSON.parse(res.body);
    if (body.access_token) s.track(body.access_token);
    return { status: res.statusCode, body, retryAfter: res.headers['retry-after'] };
  };

  it('refuses the token after the cap with 429 invalid_request and the window’s Retry-After, per client', async () => {
    const busy = await createClient(s, 'cap-busy');
    const quiet = await createClient(s, 'cap-quiet');
    for (let i = 0; i < 3; i++) expect((await grant(busy)).status).toBe(200);
    s.clock.ms += 30_000;
    const refused = await grant(busy);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    expect(refused.retryAfter).toBe('90');
    const event = (
      await s.call('GET', '/v1/audit/events?type=oauth.rate_limited&limit=1', { token: s.adminToken })
    ).body.items[0];
    expect(event).toMatchObject({
      reason: 'token_cap_reached',
      outcome: 'denied',
      data: { endpoint: 'token', grantType: 'client_credentials', retryAfterSeconds: 90 },
    });
    expect(event.actor.authMethodId).toBe(busy.clientId);
    // Another client is not affected; a refusal does not count, and the next window starts afresh.
    expect((await grant(quiet)).status).toBe(200);
    expect((await grant(busy)).status).toBe(429);
    s.clock.ms += 90_000;
    expect((await grant(busy)).status).toBe(200);
  });

  it('a failed client authentication is still the uniform invalid_client, not a cap refusal', async () => {
    const c = await createClient(s, 'cap-wrong-secret');
    const r = await grant({ clientId: c.clientId, clientSecret: 'wrong' });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });
});

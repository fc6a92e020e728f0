import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const ISSUER = 'http://tessera.test';
const IDP = 'https://idp.example.test';
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const RESOURCE = 'https://mcp.example.test/';

describe.each(STORES)('OAuth JWT-bearer grant (RFC 7523 §2.1) on %s', (store) => {
  let s: TestServer;
  let idp: Awaited<ReturnType<typeof generateKeyPair>>;
  let other: Awaited<ReturnType<typeof generateKeyPair>>;
  let client: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_AUTH_FAILURE_LIMIT: '1000' });
    idp = await generateKeyPair('ES256', { extractable: true });
    other = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(idp.publicKey)), kid: 'idp-1' };
    client = await createClient(s, 'mcp-client', {
      scopes: ['read'],
      resources: [RESOURCE],
      trustedIssuers: [{ issuer: IDP, jwks: { keys: [jwk] } }],
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const nowS = () => Math.floor(s.clock.ms / 1000);
  const assertion = (claims: Record<string, unknown> = {}, key = idp.privateKey, kid = 'idp-1') =>
    new SignJWT({
      iss: IDP,
      sub: 'alice@example.test',
      aud: ISSUER,
      jti: randomUUID(),
      iat: nowS(),
      exp: nowS() + 120,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid })
      .sign(key);
  const grant = async (
    params: Record<string, string>,
    c: { clientId: string; clientSecret?: string } = client,
  ) => {
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      },
      payload: new URLSearchParams({ grant_type: GRANT, ...params }).toString(),
    });
    const body = JSON.parse(res.body);
    if (body.access_token) s.track(body.access_token);
    return { status: res.statusCode, body };
  };
  const lastAudit = async (type: string) =>
    (await s.call('GET', `/v1/audit/events?type=${type}&limit=1`, { token: s.adminToken })).body.items[0];
  const expectGrantError = async (
    r: { status: number; body: any },
    reason: string,
    error = 'invalid_grant',
  ) => {
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error).toBe(error);
    expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason });
  };

  it('is advertised in the metadata', async () => {
    const r = await s.call('GET', '/.well-known/oauth-authorization-server');
    expect(r.body.grant_types_supported).toContain(GRANT);
  });

  it('issues the client a token for an assertion from its trusted issuer, audited with whom it named', async () => {
    const r = await grant({ assertion: await assertion(), scope: 'read', resource: RESOURCE });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    const claims = JSON.parse(Buffer.from(r.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ client_id: client.clientId, aud: RESOURCE, scope: 'read' });
    const issued = await lastAudit('oauth.token_issued');
    expect(issued.data).toMatchObject({
      grantType: GRANT,
      assertion: { iss: IDP, sub: 'alice@example.test' },
    });
    // The scope is still bounded by the client's registration and roles.
    await expectGrantError(
      await grant({ assertion: await assertion(), scope: 'admin' }),
      'scope_not_allowed',
      'invalid_scope',
    );
  });

  it('refuses each failed MUST of RFC 7523 §3 with invalid_grant and the precise reason audited', async () => {
    await expectGrantError(await grant({}), 'invalid_request', 'invalid_request');
    await expectGrantError(await grant({ assertion: 'not.a.jwt' }), 'grant_assertion_malformed');
    await expectGrantError(
      await grant({ assertion: await assertion({ iss: 'https://evil.test' }) }),
      'grant_assertion_untrusted_issuer',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({}, other.privateKey) }),
      'grant_assertion_bad_signature',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({}, idp.privateKey, 'unknown-kid') }),
      'grant_assertion_unknown_key',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ aud: 'https://other-as.test' }) }),
      'grant_assertion_wrong_audience',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ exp: nowS() - 120 }) }),
      'grant_assertion_expired',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ exp: nowS() + 7200 }) }),
      'grant_assertion_lifetime_too_long',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ nbf: nowS() + 600 }) }),
      'grant_assertion_not_yet_valid',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ sub: undefined }) }),
      'grant_assertion_missing_claim',
    );
    await expectGrantError(
      await grant({ assertion: await assertion({ jti: undefined }) }),
      'grant_assertion_missing_claim',
    );
    const hs = await new SignJWT({ iss: IDP, sub: 'a', aud: ISSUER, jti: 'x', exp: nowS() + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new Uint8Array(32));
    await expectGrantError(await grant({ assertion: hs }), 'grant_assertion_alg_not_allowed');
  });

  it('makes the assertion single-use, and refuses it to a client that does not trust its issuer', async () => {
    const once = await assertion();
    expect((await grant({ assertion: once })).status).toBe(200);
    await expectGrantError(await grant({ assertion: once }), 'grant_assertion_replayed');
    const stranger = await createClient(s, 'stranger');
    await expectGrantError(
      await grant({ assertion: await assertion() }, stranger),
      'grant_assertion_untrusted_issuer',
    );
  });

  it('refuses private keys and malformed issuers in the client setting', async () => {
    const privateJwk = await exportJWK(idp.privateKey);
    for (const trustedIssuers of [
      [{ issuer: IDP, jwks: { keys: [privateJwk] } }],
      [{ issuer: 'not a url', jwks: { keys: [await exportJWK(idp.publicKey)] } }],
    ]) {
      const r = await s.call('POST', '/v1/oauth-clients', {
        token: s.adminToken,
        body: { name: `bad-${randomUUID().slice(0, 8)}`, trustedIssuers },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
    }
  });
});

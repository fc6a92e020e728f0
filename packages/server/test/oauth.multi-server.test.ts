import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerPair, startServerPair, type TestServer } from './harness.js';
import { createClient } from './oauth.helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Issue 12 on two servers sharing one PostgreSQL store: a token revoked through RFC 7009 on one is
 * refused by the other (the revocation set), a client secret registered on one works on both, and a
 * client assertion's or a DPoP proof's `jti` spent on one is refused by the other (`consume()`).
 */
describe('OAuth on two servers on one PostgreSQL database', () => {
  let pair: ServerPair | undefined;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    pair = await startServerPair();
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  const post = async (
    s: TestServer,
    path: string,
    body: string,
    authorization?: string,
    headers: Record<string, string> = {},
  ) => {
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: { ...FORM, ...(authorization ? { authorization } : {}), ...headers },
    });
    return {
      status: res.statusCode,
      body: res.body ? JSON.parse(res.body) : null,
      nonce: res.headers['dpop-nonce'] as string,
    };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a token revoked on A is refused on B within 1 s', async () => {
    const c = await createClient(a, 'multi-server-client');
    const basic = `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`;
    const issued = await post(b, '/oauth/token', 'grant_type=client_credentials', basic);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const token = issued.body.access_token as string;
    a.track(token);
    b.track(token);
    expect((await b.call('GET', '/v1/dynamic-secrets', { token })).status).toBe(200);
    expect((await post(a, '/oauth/revoke', `token=${encodeURIComponent(token)}`, basic)).status).toBe(200);
    const started = performance.now();
    let status = 0;
    while (performance.now() - started < 1000) {
      status = (await b.call('GET', '/v1/dynamic-secrets', { token })).status;
      if (status === 401) break;
      await sleep(10);
    }
    expect(status).toBe(401);
    expect((await post(b, '/oauth/introspect', `token=${encodeURIComponent(token)}`, basic)).body).toEqual({
      active: false,
    });
  });

  it('a client assertion (RFC 7523 jti) or a DPoP proof (RFC 9449 jti) spent on A is refused on B', async () => {
    const issuer = a.config.issuer.replace(/\/+$/, '');
    expect(b.config.issuer.replace(/\/+$/, '')).toBe(issuer);
    const clientKey = await generateKeyPair('ES256', { extractable: true });
    const c = await createClient(a, 'multi-server-jwt', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(clientKey.publicKey)), kid: 'k1' }] },
    });
    const nowS = () => Math.floor(a.clock.ms / 1000);
    b.clock.ms = a.clock.ms;
    const assertion = () =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.clientId)
        .setSubject(c.clientId)
        .setAudience(issuer)
        .setIssuedAt(nowS())
        .setExpirationTime(nowS() + 60)
        .sign(clientKey.privateKey);
    const grant = (s: TestServer, clientAssertion: string, headers: Record<string, string> = {}) =>
      post(
        s,
        '/oauth/token',
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        }).toString(),
        undefined,
        headers,
      );
    const spent = await assertion();
    const first = await grant(a, spent);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    a.track(first.body.access_token);
    const replayed = await grant(b, spent);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe('invalid_client');
    const audit = await b.call('GET', '/v1/audit/events?type=oauth.client_auth_failed&limit=1', {
      token: b.adminToken,
    });
    expect(audit.body.items[0]).toMatchObject({ reason: 'assertion_replayed' });

    // DPoP: B accepts A's nonce (the cluster shares them), but not a proof A has already accepted.
    const holder = await generateKeyPair('ES256', { extractable: true });
    const proof = async () =>
      new SignJWT({
        htm: 'POST',
        htu: `${issuer}/oauth/token`,
        jti: randomUUID(),
        iat: nowS(),
        nonce: first.nonce,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(holder.publicKey) })
        .sign(holder.privateKey);
    const dpop = await proof();
    const bound = await grant(a, await assertion(), { dpop });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    expect(bound.body.token_type).toBe('DPoP');
    a.track(bound.body.access_token);
    const onB = await grant(b, await assertion(), { dpop: await proof() });
    expect(onB.status, JSON.stringify(onB.body)).toBe(200);
    b.track(onB.body.access_token);
    const proofReplayed = await grant(b, await assertion(), { dpop });
    expect(proofReplayed.status).toBe(400);
    expect(proofReplayed.body.error).toBe('invalid_dpop_proof');
  });
});

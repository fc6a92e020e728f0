import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';
import { createClient, grantScopesTo } from './oauth.helpers.js';

const ISSUER = 'http://tessera.test';
const TOKEN_URL = `${ISSUER}/oauth/token`;
const API_URL = `${ISSUER}/v1/dynamic-secrets`;
const RESOURCE = 'https://api.example.test/';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type Keys = { privateKey: CryptoKey; publicJwk: JWK; jwks: { keys: JWK[] } };
async function keys(alg: 'ES256' | 'Ed25519' = 'ES256'): Promise<Keys> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  return {
    privateKey: pair.privateKey as CryptoKey,
    publicJwk,
    jwks: { keys: [{ ...publicJwk, kid: 'k1' }] },
  };
}

/** The negative side of issue 12: every MUST we implement, answered with the right OAuth error. */
describe.each(STORES)('OAuth authorization server security on %s', (store) => {
  let s: TestServer;
  let clientKeys: Keys;
  let jwtClient: string;
  let dpopClient: string;
  let secretClient: { clientId: string; clientSecret: string };
  let nonce: string;

  const nowS = () => Math.floor(s.clock.ms / 1000);
  const post = async (path: string, params: string | Record<string, string | string[]>, headers = {}) => {
    const body =
      typeof params === 'string'
        ? params
        : new URLSearchParams(
            Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
          ).toString();
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: path,
      payload: body,
      headers: { ...FORM, ...headers },
    });
    let json: any = null;
    try {
      json = JSON.parse(res.body);
    } catch {}
    return { status: res.statusCode, body: json, headers: res.headers };
  };
  const assertion = (
    claims: Record<string, unknown> = {},
    key = clientKeys.privateKey,
    alg = 'ES256',
    clientId = jwtClient,
  ) =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg, kid: 'k1' })
      .setIssuer((claims.iss as string) ?? clientId)
      .setSubject((claims.sub as string) ?? clientId)
      .setAudience((claims.aud as string) ?? ISSUER)
      .setIssuedAt(nowS())
      .setExpirationTime((claims.exp as number) ?? nowS() + 60)
      .sign(key);
  const jwtGrant = async (a: string, extra: Record<string, string | string[]> = {}, headers = {}) =>
    post(
      '/oauth/token',
      {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: a,
        ...extra,
      },
      headers,
    );
  const proof = async (k: Keys, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ htm: 'POST', htu: TOKEN_URL, jti: randomUUID(), iat: nowS(), nonce, ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.publicJwk, ...header })
      .sign(k.privateKey);
  const expectOAuthError = (r: { status: number; body: any }, status: number, error: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body).toEqual({ error, error_description: expect.any(String) });
  };
  const lastAudit = async (type: string) =>
    (await s.call('GET', `/v1/audit/events?type=${type}&limit=1`, { token: s.adminToken })).body.items[0];

  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_AUTH_FAILURE_LIMIT: '1000' });
    clientKeys = await keys();
    jwtClient = (
      await createClient(s, 'jwt-client', {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: clientKeys.jwks,
        scopes: ['read', 'write'],
        resources: [RESOURCE],
      })
    ).clientId;
    dpopClient = (
      await createClient(s, 'dpop-client', {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: clientKeys.jwks,
        dpopBoundAccessTokens: true,
      })
    ).clientId;
    const c = await createClient(s, 'secret-client', { scopes: ['read'] });
    secretClient = { clientId: c.clientId, clientSecret: c.clientSecret! };
    nonce = (await post('/oauth/token', {})).headers['dpop-nonce'] as string;
  });
  afterAll(() => s?.close());

  describe('client registration', () => {
    it('refuses private keys in jwks, symmetric keys, and private_key_jwt without keys', async () => {
      const k = await generateKeyPair('ES256', { extractable: true });
      const privateJwk = await exportJWK(k.privateKey);
      for (const body of [
        { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [privateJwk] } },
        { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
        { tokenEndpointAuthMethod: 'private_key_jwt' },
        { resources: ['not a uri'] },
        { scopes: ['bad"scope'] },
      ]) {
        const r = await s.call('POST', '/v1/oauth-clients', {
          token: s.adminToken,
          body: { name: 'bad', ...body },
        });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
      }
    });

    it('a secret is shown once with a recognisable prefix, stored hashed, and rotates with a grace period', async () => {
      expect(secretClient.clientSecret).toMatch(/^tcs-[A-Za-z0-9_-]{49}$/);
      const rows = JSON.stringify(
        await s.tessera.store.db
          .selectFrom('oauth_client_secrets' as never)
          .selectAll()
          .execute(),
      );
      expect(rows).not.toContain(secretClient.clientSecret);
      const get = await s.call('GET', `/v1/oauth-clients/${secretClient.clientId}`, { token: s.adminToken });
      expect(JSON.stringify(get.body)).not.toContain('tcs-');
      const c = await createClient(s, 'rotating-client');
      const basic = (secret: string) => ({
        authorization: `Basic ${Buffer.from(`${c.clientId}:${secret}`).toString('base64')}`,
      });
      const rotated = await s.call('POST', `/v1/oauth-clients/${c.clientId}/rotate-secret`, {
        token: s.adminToken,
        body: { graceSeconds: 60 },
      });
      expect(rotated.status).toBe(200);
      s.track(rotated.body.clientSecret);
      expect(
        (await post('/oauth/token', { grant_type: 'client_credentials' }, basic(c.clientSecret!))).status,
      ).toBe(200);
      expect(
        (await post('/oauth/token', { grant_type: 'client_credentials' }, basic(rotated.body.clientSecret)))
          .status,
      ).toBe(200);
      s.clock.advance(61);
      s.adminToken = (
        await s.call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
        })
      ).body.token;
      expectOAuthError(
        await post('/oauth/token', { grant_type: 'client_credentials' }, basic(c.clientSecret!)),
        401,
        'invalid_client',
      );
      expect(
        (await post('/oauth/token', { grant_type: 'client_credentials' }, basic(rotated.body.clientSecret)))
          .status,
      ).toBe(200);
      nonce = (await post('/oauth/token', {})).headers['dpop-nonce'] as string;
    });
  });

  describe('client authentication (RFC 6749 §2.3, RFC 7523 §3)', () => {
    it('a valid assertion works once; its replay is refused and audited precisely', async () => {
      const a = await assertion();
      const ok = await jwtGrant(a);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      s.track(ok.body.access_token);
      expect(ok.headers['cache-control']).toBe('no-store');
      const replay = await jwtGrant(a);
      expectOAuthError(replay, 401, 'invalid_client');
      expect(replay.headers['www-authenticate']).toMatch(/^Basic /);
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({ reason: 'assertion_replayed' });
    });

    it.each([
      ['wrong audience', { aud: 'https://elsewhere.test' }, 'assertion_wrong_audience'],
      ['expired', { exp: -120 }, 'assertion_expired'],
      ['lifetime over 5 minutes', { exp: 3600 }, 'assertion_lifetime_too_long'],
      ['iss is not the client', { iss: 'p-someoneelse' }, 'assertion_wrong_issuer'],
    ])('refuses an assertion: %s', async (_name, claims, reason) => {
      const c: Record<string, unknown> = { ...claims };
      if (typeof c.exp === 'number') c.exp = nowS() + (c.exp as number);
      expectOAuthError(await jwtGrant(await assertion(c)), 401, 'invalid_client');
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({ reason });
    });

    it.each(['RS256', 'PS256', 'EdDSA'] as const)('accepts a %s client key', async (alg) => {
      const pair = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : alg, { extractable: true });
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' };
      const c = await createClient(s, `alg-${alg}`, {
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys: [jwk] },
      });
      const a = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg, kid: 'k1' })
        .setIssuer(c.clientId)
        .setSubject(c.clientId)
        .setAudience(TOKEN_URL)
        .setIssuedAt(nowS())
        .setExpirationTime(nowS() + 60)
        .sign(pair.privateKey);
      const r = await jwtGrant(a);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      s.track(r.body.access_token);
    });

    it('refuses an assertion signed with another key, with HS256, or malformed', async () => {
      const other = await keys();
      expectOAuthError(await jwtGrant(await assertion({}, other.privateKey)), 401, 'invalid_client');
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({
        reason: 'assertion_bad_signature',
      });
      const hs = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(jwtClient)
        .setSubject(jwtClient)
        .setAudience(ISSUER)
        .setExpirationTime(nowS() + 60)
        .sign(new TextEncoder().encode('x'.repeat(32)));
      expectOAuthError(await jwtGrant(hs), 401, 'invalid_client');
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({
        reason: 'assertion_alg_not_allowed',
      });
      for (const junk of ['', 'a.b.c', 'x'.repeat(9000), `${Buffer.from('{').toString('base64url')}..`])
        expectOAuthError(await jwtGrant(junk), 401, 'invalid_client');
    });

    it('refuses a secret client using the wrong secret, an unknown client, or no authentication', async () => {
      const basic = (id: string, secret: string) => ({
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      });
      for (const headers of [
        basic(secretClient.clientId, 'tcs-wrong'),
        basic('p-unknown', secretClient.clientSecret),
        {},
      ]) {
        const r = await post('/oauth/token', { grant_type: 'client_credentials' }, headers);
        expectOAuthError(r, 401, 'invalid_client');
        expect(r.headers['www-authenticate']).toMatch(/^Basic realm=/);
      }
      // A private_key_jwt client cannot use a secret, nor a secret client an assertion.
      expectOAuthError(
        await jwtGrant(await assertion({}, clientKeys.privateKey, 'ES256', secretClient.clientId)),
        401,
        'invalid_client',
      );
      expect(await lastAudit('oauth.client_auth_failed')).toMatchObject({
        reason: 'wrong_client_auth_method',
      });
    });

    it('rate limits failed client authentications per source', async () => {
      const limited = await startTestServer('sqlite', { TESSERA_AUTH_FAILURE_LIMIT: '3' });
      try {
        const bad = { authorization: `Basic ${Buffer.from('p-x:tcs-y').toString('base64')}` };
        const call = () =>
          limited.tessera.app.inject({
            method: 'POST',
            url: '/oauth/token',
            payload: 'grant_type=client_credentials',
            headers: { ...FORM, ...bad },
          });
        for (let i = 0; i < 3; i++) expect((await call()).statusCode).toBe(401);
        const blocked = await call();
        expect(blocked.statusCode).toBe(429);
        expect(JSON.parse(blocked.body).error).toBe('invalid_request');
      } finally {
        await limited.close();
      }
    });
  });

  describe('requests (RFC 6749, RFC 8707)', () => {
    it('answers bad requests with the right OAuth error, never a 5xx', async () => {
      const a = async () => ({
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await assertion(),
      });
      expectOAuthError(
        await post('/oauth/token', { ...(await a()), grant_type: 'password' }),
        400,
        'unsupported_grant_type',
      );
      expectOAuthError(await post('/oauth/token', { ...(await a()) }), 400, 'invalid_request');
      expectOAuthError(
        await post('/oauth/token', 'grant_type=client_credentials&grant_type=client_credentials'),
        400,
        'invalid_request',
      );
      expectOAuthError(await jwtGrant(await assertion(), { scope: 'read admin' }), 400, 'invalid_scope');
      expectOAuthError(
        await jwtGrant(await assertion(), { resource: 'https://unknown.test/' }),
        400,
        'invalid_target',
      );
      expectOAuthError(
        await jwtGrant(await assertion(), { resource: [RESOURCE, 'https://unknown.test/'] }),
        400,
        'invalid_target',
      );
      const big = await post('/oauth/token', `grant_type=client_credentials&x=${'a'.repeat(20_000)}`);
      expect(big.status).toBe(413);
      expect(big.body.error).toBe('invalid_request');
      const json = await s.tessera.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: '{"grant_type":"client_credentials"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(json.statusCode).toBe(415);
      expect(JSON.parse(json.body).error).toBe('invalid_request');
      const both = await post(
        '/oauth/token',
        {
          grant_type: 'client_credentials',
          client_id: secretClient.clientId,
          client_secret: secretClient.clientSecret,
        },
        {
          authorization: `Basic ${Buffer.from(`${secretClient.clientId}:${secretClient.clientSecret}`).toString('base64')}`,
        },
      );
      expectOAuthError(both, 400, 'invalid_request');
      for (const junk of ['%', '&&&=', 'grant_type', '\u0000', 'a=%E0%A4%A']) {
        const r = await post('/oauth/token', junk);
        expect(r.status, junk).toBeLessThan(500);
        expect(r.status).toBeGreaterThanOrEqual(400);
      }
      expect((await post('/oauth/nothing', {})).status).toBe(404);
      const malformedBasic = await post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: 'Basic %%%' },
      );
      expectOAuthError(malformedBasic, 400, 'invalid_request');
    });

    it('a token names the resource as audience and carries only the scopes asked for', async () => {
      const r = await jwtGrant(await assertion(), { scope: 'read', resource: RESOURCE });
      expect(r.status).toBe(200);
      s.track(r.body.access_token);
      const payload = JSON.parse(Buffer.from(r.body.access_token.split('.')[1], 'base64url').toString());
      expect(payload).toMatchObject({ aud: RESOURCE, scope: 'read', client_id: jwtClient, iss: ISSUER });
      // A token for another audience is not accepted by Tessera's own API.
      expect((await s.call('GET', '/v1/dynamic-secrets', { token: r.body.access_token })).status).toBe(401);
    });

    it('a token carries only scopes the client’s roles grant (read on scope:/<scope>)', async () => {
      const c = await createClient(s, 'scoped-by-roles', {
        scopes: ['read', 'write', 'admin'],
        grantScopes: false,
      });
      const auth = {
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      };
      const grant = (params: Record<string, string> = {}) =>
        post('/oauth/token', { grant_type: 'client_credentials', ...params }, auth);
      const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

      // Registered but granted by no role: refused when asked for, left out otherwise.
      expectOAuthError(await grant({ scope: 'read' }), 400, 'invalid_scope');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'scope_not_granted' });
      const none = await grant();
      expect(none.status, JSON.stringify(none.body)).toBe(200);
      s.track(none.body.access_token);
      expect(none.body.scope).toBeUndefined();
      expect(claims(none.body.access_token).scope).toBeUndefined();

      // A role granting read on scope:/read and scope:/write; another capability does not grant.
      await grantScopesTo(s, c.clientId, ['read', 'write']);
      await grantScopesTo(s, c.clientId, ['admin'], ['list', 'update']);
      const ok = await grant({ scope: 'read write' });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      s.track(ok.body.access_token);
      expect(claims(ok.body.access_token).scope).toBe('read write');
      expectOAuthError(await grant({ scope: 'read admin' }), 400, 'invalid_scope');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'scope_not_granted' });
      // Without `scope`: the registered scopes the roles grant, named in the response (RFC 6749 §3.3).
      const defaults = await grant();
      s.track(defaults.body.access_token);
      expect(defaults.body.scope).toBe('read write');
      expect(claims(defaults.body.access_token).scope).toBe('read write');

      // A deny rule beats the grant.
      const denied = await grantScopesTo(s, c.clientId, ['write'], ['deny']);
      expectOAuthError(await grant({ scope: 'write' }), 400, 'invalid_scope');
      const afterDeny = await grant();
      s.track(afterDeny.body.access_token);
      expect(afterDeny.body.scope).toBe('read');
      // Removing the deny role's association restores the scope (cached decisions are invalidated).
      expect((await s.call('DELETE', `/v1/roles/${denied}`, { token: s.adminToken })).status).toBe(204);
      const restored = await grant({ scope: 'write' });
      expect(restored.status, JSON.stringify(restored.body)).toBe(200);
      s.track(restored.body.access_token);
      // A scope the client is not registered for stays refused whatever its roles grant.
      await grantScopesTo(s, c.clientId, ['other']);
      expectOAuthError(await grant({ scope: 'other' }), 400, 'invalid_scope');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'scope_not_allowed' });
    });
  });

  describe('DPoP (RFC 9449)', () => {
    const dpopGrant = async (p: string, clientId = dpopClient, headers: Record<string, string> = {}) =>
      jwtGrant(await assertion({}, clientKeys.privateKey, 'ES256', clientId), {}, { dpop: p, ...headers });

    it('a DPoP-bound client must send a proof', async () => {
      expectOAuthError(
        await jwtGrant(await assertion({}, clientKeys.privateKey, 'ES256', dpopClient)),
        400,
        'invalid_request',
      );
    });

    it('asks for a nonce, then binds the token to the key (cnf.jkt, token_type DPoP)', async () => {
      const k = await keys();
      const missing = await dpopGrant(await proof(k, { nonce: undefined }));
      expectOAuthError(missing, 400, 'use_dpop_nonce');
      expect(missing.headers['dpop-nonce']).toEqual(expect.any(String));
      nonce = missing.headers['dpop-nonce'] as string;
      const ok = await dpopGrant(await proof(k));
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      s.track(ok.body.access_token);
      expect(ok.body.token_type).toBe('DPoP');
      const payload = JSON.parse(Buffer.from(ok.body.access_token.split('.')[1], 'base64url').toString());
      expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(k.publicJwk) });
    });

    it.each([
      ['wrong htm', { htm: 'GET' }, {}],
      ['wrong htu', { htu: 'http://tessera.test/other' }, {}],
      ['htu of another server (even with its Host header)', { htu: 'http://evil.test/oauth/token' }, {}],
      ['stale iat', { iat: -300 }, {}],
      ['iat in the future', { iat: 300 }, {}],
      ['wrong typ', {}, { typ: 'JWT' }],
      ['a private key in the header', {}, { jwk: 'private' }],
    ])('refuses a proof: %s', async (_name, claims: Record<string, unknown>, header: Record<
      string,
      unknown
    >) => {
      const k = await keys();
      const c = { ...claims };
      if (typeof c.iat === 'number') c.iat = nowS() + (c.iat as number);
      const h = { ...header };
      if (h.jwk === 'private') {
        const pair = await generateKeyPair('ES256', { extractable: true });
        h.jwk = await exportJWK(pair.privateKey);
      }
      const p = await proof(k, c, h);
      const host = typeof c.htu === 'string' ? { host: new URL(c.htu).host } : {};
      expectOAuthError(await dpopGrant(p, dpopClient, host), 400, 'invalid_dpop_proof');
    });

    it('refuses a replayed proof, a proof signed with another key than its jwk, and a symmetric one', async () => {
      const k = await keys();
      const p = await proof(k);
      expect((await dpopGrant(p)).status).toBe(200);
      expectOAuthError(await dpopGrant(p), 400, 'invalid_dpop_proof');
      const other = await keys();
      const forged = await new SignJWT({ htm: 'POST', htu: TOKEN_URL, jti: randomUUID(), iat: nowS(), nonce })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: k.publicJwk })
        .sign(other.privateKey);
      expectOAuthError(await dpopGrant(forged), 400, 'invalid_dpop_proof');
      const hs = await new SignJWT({ htm: 'POST', htu: TOKEN_URL, jti: randomUUID(), iat: nowS(), nonce })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'eA' } })
        .sign(new TextEncoder().encode('x'.repeat(32)));
      expectOAuthError(await dpopGrant(hs), 400, 'invalid_dpop_proof');
      const two = await s.tessera.app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: 'grant_type=client_credentials',
        headers: { ...FORM, dpop: [p, p] },
      });
      expect(two.statusCode).toBe(400);
    });

    it("a stolen DPoP-bound token is refused by Tessera's API; the holder's proof is accepted once", async () => {
      const k = await keys();
      const issued = await dpopGrant(await proof(k));
      expect(issued.status).toBe(200);
      const token = issued.body.access_token as string;
      s.track(token);
      const ath = createHash('sha256').update(token).digest('base64url');
      const apiProof = (key: Keys, claims: Record<string, unknown> = {}) =>
        proof(key, { htm: 'GET', htu: API_URL, ath, nonce: undefined, ...claims });
      const api = (headers: Record<string, string>) =>
        s.tessera.app.inject({
          method: 'GET',
          url: '/v1/dynamic-secrets',
          headers: { host: 'tessera.test', ...headers },
        });
      const good = await apiProof(k);
      expect((await api({ authorization: `DPoP ${token}`, dpop: good })).statusCode).toBe(200);
      expect((await api({ authorization: `DPoP ${token}`, dpop: good })).statusCode).toBe(401); // replay
      expect((await api({ authorization: `Bearer ${token}` })).statusCode).toBe(401);
      expect((await api({ authorization: `DPoP ${token}` })).statusCode).toBe(401);
      const thief = await keys();
      expect((await api({ authorization: `DPoP ${token}`, dpop: await apiProof(thief) })).statusCode).toBe(
        401,
      );
      expect(
        (await api({ authorization: `DPoP ${token}`, dpop: await apiProof(k, { ath: 'x' }) })).statusCode,
      ).toBe(401);
      expect(
        (await api({ authorization: `DPoP ${token}`, dpop: await apiProof(k, { htm: 'POST' }) })).statusCode,
      ).toBe(401);
      // A proof for another server's URL does not pass, whatever Host header comes with it.
      const elsewhere = await apiProof(k, { htu: 'http://evil.test/v1/dynamic-secrets' });
      const hostile = await api({ host: 'evil.test', authorization: `DPoP ${token}`, dpop: elsewhere });
      expect(hostile.statusCode).toBe(401);
      // …while the holder's proof for the public URL passes from any Host.
      const viaProxy = await api({
        host: 'internal:8377',
        authorization: `DPoP ${token}`,
        dpop: await apiProof(k),
      });
      expect(viaProxy.statusCode).toBe(200);
    });
  });

  describe('token exchange (RFC 8693)', () => {
    const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
    const AT = 'urn:ietf:params:oauth:token-type:access_token';
    const basic = (c: { clientId: string; clientSecret?: string }) => ({
      authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
    });
    const grant = async (
      c: { clientId: string; clientSecret?: string },
      params: Record<string, string> = {},
    ) => {
      const r = await post('/oauth/token', { grant_type: 'client_credentials', ...params }, basic(c));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      s.track(r.body.access_token);
      return r.body.access_token as string;
    };
    const exchange = (c: { clientId: string; clientSecret?: string }, params: Record<string, string>) =>
      post(
        '/oauth/token',
        { grant_type: EXCHANGE, subject_token_type: AT, resource: RESOURCE, ...params },
        basic(c),
      );

    it('refuses an exchange the policy does not allow, that broadens scope, or with an inactive subject', async () => {
      const subject = await createClient(s, 'xchg-subject', { scopes: ['read', 'write'] });
      const allowed = await createClient(s, 'xchg-allowed', {
        resources: [RESOURCE],
        mayActFor: [subject.clientId],
      });
      const stranger = await createClient(s, 'xchg-stranger', { resources: [RESOURCE] });
      const token = await grant(subject, { scope: 'read' });
      expectOAuthError(await exchange(stranger, { subject_token: token }), 400, 'invalid_grant');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'may_act_denied' });
      expectOAuthError(
        await exchange(allowed, { subject_token: token, scope: 'read write' }),
        400,
        'invalid_scope',
      );
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'exchange_scope_broader' });
      expectOAuthError(await exchange(allowed, { subject_token: 'not-a-token' }), 400, 'invalid_grant');
      expectOAuthError(
        await exchange(allowed, { subject_token: token, resource: 'https://other.test/' }),
        400,
        'invalid_target',
      );
      expectOAuthError(await exchange(allowed, {}), 400, 'invalid_request');
      // The actor token must be the calling client's own.
      expectOAuthError(
        await exchange(allowed, { subject_token: token, actor_token: token, actor_token_type: AT }),
        400,
        'invalid_grant',
      );
      const ok = await exchange(allowed, { subject_token: token });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      s.track(ok.body.access_token);
      expect(ok.body.scope).toBe('read');
      const exchanged = await lastAudit('oauth.token_exchanged');
      expect(exchanged.data.parties).toEqual(expect.arrayContaining([allowed.clientId]));
      // "Everything the allowed client did for the subject": both parties of the chain.
      const both = `${subject.body.client.identityId},${allowed.clientId}`;
      const found = await s.call('GET', `/v1/audit/events?party=${both}`, { token: s.adminToken });
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      // The exchange, and the two refusals above that got as far as knowing the chain (newest first).
      expect(found.body.items.map((e: { type: string }) => e.type)).toEqual([
        'oauth.token_exchanged',
        'oauth.token_refused',
        'oauth.token_refused',
      ]);
      const neither = await s.call('GET', `/v1/audit/events?party=${both},${stranger.clientId}`, {
        token: s.adminToken,
      });
      expect(neither.body.items).toEqual([]);
      // Revoking the subject token's identity makes the exchange fail.
      expect(
        (await s.call('DELETE', `/v1/oauth-clients/${subject.clientId}`, { token: s.adminToken })).status,
      ).toBe(204);
      expectOAuthError(await exchange(allowed, { subject_token: token }), 400, 'invalid_grant');
    });

    it('a delegation rule narrows audiences and scopes; each refusal is audited with the whole chain', async () => {
      const OTHER = 'https://other.example.test/';
      const subject = await createClient(s, 'rule-subject', { scopes: ['read', 'write'] });
      const actor = await createClient(s, 'rule-actor', {
        resources: [RESOURCE, OTHER],
        delegation: [{ subject: subject.clientId, audiences: [RESOURCE], scopes: ['read'] }],
      });
      const token = await grant(subject, { scope: 'read write' });
      const subjectIdentity = subject.body.client.identityId;
      expectOAuthError(
        await exchange(actor, { subject_token: token, resource: OTHER }),
        400,
        'invalid_target',
      );
      const audience = await lastAudit('oauth.token_refused');
      expect(audience).toMatchObject({ reason: 'delegation_audience_denied' });
      expect(audience.data).toMatchObject({
        subject: subjectIdentity,
        subjectClient: subject.clientId,
        act: { client_id: actor.clientId },
        parties: [subjectIdentity, actor.body.client.identityId, actor.clientId],
      });
      // A scope the subject token holds but the rule does not grant; one it does not hold at all.
      expectOAuthError(await exchange(actor, { subject_token: token, scope: 'write' }), 400, 'invalid_scope');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({
        reason: 'delegation_scope_denied',
        data: { parties: [subjectIdentity, actor.body.client.identityId, actor.clientId] },
      });
      expectOAuthError(await exchange(actor, { subject_token: token, scope: 'admin' }), 400, 'invalid_scope');
      expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'exchange_scope_broader' });
      // Without a scope the token carries what both the subject token and the rule allow; and
      // without an impersonation rule an exchange without actor token is still a delegation.
      const ok = await exchange(actor, { subject_token: token });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      s.track(ok.body.access_token);
      expect(ok.body.scope).toBe('read');
      const payload = JSON.parse(Buffer.from(ok.body.access_token.split('.')[1]!, 'base64url').toString());
      expect(payload.act).toEqual({ sub: actor.body.client.identityId, client_id: actor.clientId });
      // A client restricted to client_credentials may not exchange at all.
      const patched = await s.call('PATCH', `/v1/oauth-clients/${actor.clientId}`, {
        token: s.adminToken,
        body: { grantTypes: ['client_credentials'] },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expectOAuthError(await exchange(actor, { subject_token: token }), 400, 'unauthorized_client');
    });

    it('refuses delegation rules wider than the client, or naming a subject twice', async () => {
      const subject = await createClient(s, 'rule-check-subject', { scopes: ['read'] });
      const create = (name: string, body: Record<string, unknown>) =>
        s.call('POST', '/v1/oauth-clients', {
          token: s.adminToken,
          body: { name, resources: [RESOURCE], ...body },
        });
      for (const [name, body] of [
        [
          'rule-bad-audience',
          { delegation: [{ subject: subject.clientId, audiences: ['https://x.test/'] }] },
        ],
        ['rule-twice', { delegation: [{ subject: subject.clientId }, { subject: subject.clientId }] }],
        ['rule-and-may-act', { mayActFor: [subject.clientId], delegation: [{ subject: subject.clientId }] }],
        ['rule-bad-subject', { delegation: [{ subject: 'not a client' }] }],
        ['rule-extra-field', { delegation: [{ subject: subject.clientId, chainDepth: 9 }] }],
      ] as const) {
        const r = await create(name, body);
        expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(400);
        expect(r.body.error.code, name).toMatch(/^TESSERA_/);
      }
      const ok = await create('rule-good', {
        delegation: [{ subject: subject.clientId, audiences: [RESOURCE], impersonation: true }],
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body.client.delegation).toEqual([
        { subject: subject.clientId, audiences: [RESOURCE], impersonation: true },
      ]);
      // Narrowing the client's resources below a rule's audiences is refused too.
      const narrowed = await s.call('PATCH', `/v1/oauth-clients/${ok.body.client.clientId}`, {
        token: s.adminToken,
        body: { resources: ['https://elsewhere.test/'] },
      });
      expect(narrowed.status, JSON.stringify(narrowed.body)).toBe(400);
    });

    it('impersonation keeps the subject token’s own chain and does not lengthen it', async () => {
      const first = await createClient(s, 'imp-0', { scopes: ['read'], resources: [RESOURCE] });
      const middle = await createClient(s, 'imp-1', { resources: [RESOURCE], mayActFor: [first.clientId] });
      const impersonator = await createClient(s, 'imp-2', {
        resources: [RESOURCE],
        delegation: [{ subject: middle.clientId, impersonation: true }],
      });
      const delegated = await exchange(middle, { subject_token: await grant(first, { scope: 'read' }) });
      expect(delegated.status, JSON.stringify(delegated.body)).toBe(200);
      s.track(delegated.body.access_token);
      const r = await exchange(impersonator, { subject_token: delegated.body.access_token });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      s.track(r.body.access_token);
      const payload = JSON.parse(Buffer.from(r.body.access_token.split('.')[1]!, 'base64url').toString());
      expect(payload.act).toEqual({ sub: middle.body.client.identityId, client_id: middle.clientId });
      expect(payload.client_id).toBe(impersonator.clientId);
      expect(await lastAudit('oauth.token_exchanged')).toMatchObject({
        data: { impersonation: true, act: { client_id: middle.clientId } },
      });
    });

    it('nests the act chain and refuses a chain deeper than allowed', async () => {
      const first = await createClient(s, 'chain-0', { scopes: ['read'], resources: [RESOURCE] });
      let token = await grant(first, { scope: 'read' });
      let previous = first.clientId;
      for (let depth = 1; depth <= 5; depth++) {
        const c = await createClient(s, `chain-${depth}`, { resources: [RESOURCE], mayActFor: [previous] });
        const r = await exchange(c, { subject_token: token });
        if (depth <= 4) {
          expect(r.status, JSON.stringify(r.body)).toBe(200);
          s.track(r.body.access_token);
          token = r.body.access_token;
          const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
          expect(payload.act.client_id).toBe(c.clientId);
          let d = 0;
          for (let a = payload.act; a; a = a.act) d++;
          expect(d).toBe(depth);
        } else {
          expectOAuthError(r, 400, 'invalid_grant');
          expect(await lastAudit('oauth.token_refused')).toMatchObject({ reason: 'act_chain_too_deep' });
        }
        previous = c.clientId;
      }
    });
  });

  describe('introspection and revocation (RFC 7662, RFC 7009)', () => {
    it("a client learns nothing about another client's token, and cannot revoke it", async () => {
      const r = await jwtGrant(await assertion());
      const token = r.body.access_token as string;
      s.track(token);
      const basic = {
        authorization: `Basic ${Buffer.from(`${secretClient.clientId}:${secretClient.clientSecret}`).toString('base64')}`,
      };
      expect((await post('/oauth/introspect', { token }, basic)).body).toEqual({ active: false });
      expect((await post('/oauth/revoke', { token }, basic)).status).toBe(200);
      const self = { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' };
      const mine = await post('/oauth/introspect', { token, ...self, client_assertion: await assertion() });
      expect(mine.body).toMatchObject({ active: true, client_id: jwtClient });
      expectOAuthError(await post('/oauth/introspect', { token }), 401, 'invalid_client');
      expectOAuthError(
        await post('/oauth/introspect', { ...self, client_assertion: await assertion() }),
        400,
        'invalid_request',
      );
      expect(
        (await post('/oauth/introspect', { token: 'garbage', ...self, client_assertion: await assertion() }))
          .body,
      ).toEqual({
        active: false,
      });
    });

    it('an administrator session may introspect any token; a session without rights learns nothing', async () => {
      const r = await jwtGrant(await assertion());
      const token = r.body.access_token as string;
      s.track(token);
      const asAdmin = await post('/oauth/introspect', { token }, { authorization: `Bearer ${s.adminToken}` });
      expect(asAdmin.body).toMatchObject({ active: true, client_id: jwtClient });
      const c = await createClient(s, 'no-rights-client');
      const own = await post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}` },
      );
      s.track(own.body.access_token);
      const asOther = await post(
        '/oauth/introspect',
        { token },
        { authorization: `Bearer ${own.body.access_token}` },
      );
      expect(asOther.body).toEqual({ active: false });
      const bad = await post('/oauth/introspect', { token }, { authorization: 'Bearer not-a-session' });
      expectOAuthError(bad, 401, 'invalid_token');
      expect(bad.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('deleting a client makes its tokens inactive everywhere', async () => {
      const c = await createClient(s, 'short-lived-client');
      const basic = {
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      };
      const r = await post('/oauth/token', { grant_type: 'client_credentials' }, basic);
      expect(r.status).toBe(200);
      s.track(r.body.access_token);
      expect((await s.call('GET', '/v1/dynamic-secrets', { token: r.body.access_token })).status).toBe(200);
      expect(
        (await s.call('DELETE', `/v1/oauth-clients/${c.clientId}`, { token: s.adminToken })).status,
      ).toBe(204);
      expect((await s.call('GET', '/v1/dynamic-secrets', { token: r.body.access_token })).status).toBe(401);
      expectOAuthError(
        await post('/oauth/token', { grant_type: 'client_credentials' }, basic),
        401,
        'invalid_client',
      );
    });
  });
});

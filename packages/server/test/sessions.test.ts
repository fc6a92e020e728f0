import { createHmac, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

type Jwk = { kty: string; crv: string; x: string; kid: string; alg: string; use: string };

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function decode(token: string): { header: any; payload: any; signingInput: string; signature: Buffer } {
  const [h, p, sig] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
    signingInput: `${h}.${p}`,
    signature: Buffer.from(sig!, 'base64url'),
  };
}

/** Session tokens (DESIGN §1, ADR 0003) on every store. */
describe.each(STORES)('session tokens on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const jwks = async (): Promise<Jwk[]> => {
    const r = await s.call('GET', '/.well-known/jwks.json');
    expect(r.status).toBe(200);
    return r.body.keys;
  };
  /** A call only a UID session (or an admin) may make: its own tree. */
  const me = (token: string) => s.call('GET', '/v1/uid/tree', { token });
  const admin = (token: string) => s.call('GET', '/v1/identities?limit=1', { token });
  const expectRefused = (r: { status: number; body: any }, code: string) => {
    expect(r.status, JSON.stringify(r.body)).toBe(401);
    expect(r.body.error.code).toBe(code);
  };

  /** A UID method bound to its own identity, a root token and a session from it. */
  async function uidSession(settings: Record<string, unknown> = {}) {
    s.adminToken = await adminSession(s); // the clock moves in these tests
    const setup = await uidSetup(s, settings);
    const auth = await uidAuth(s, setup.root.token);
    expect(auth.status).toBe(200);
    return { ...setup, auth: auth.body, token: auth.body.token as string };
  }

  describe('shape', () => {
    it('is a JWT with typ at+jwt, alg EdDSA and a kid published in the JWKS', async () => {
      const { token } = await uidSession();
      expect(token.split('.')).toHaveLength(3);
      const { header } = decode(token);
      expect(header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
      const keys = await jwks();
      const jwk = keys.find((k) => k.kid === header.kid);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: header.kid });
      // The JWKS holds public keys only.
      for (const k of keys) expect(k).not.toHaveProperty('d');
    });

    it('carries iss, aud, sub, client_id, jti, iat, exp, am and, from a UID token, uid', async () => {
      const { token, auth, method, root } = await uidSession({ jwtTtlSeconds: 900 });
      const { payload } = decode(token);
      const iat = Math.floor(s.clock.ms / 1000);
      expect(payload).toMatchObject({
        iss: 'http://tessera.test',
        aud: 'tessera',
        sub: auth.identityId,
        client_id: method.id,
        am: method.id,
        uid: root.tokenId,
        iat,
        exp: iat + 900,
      });
      expect(payload.sub).toBe(method.identityId);
      expect(payload.jti).toMatch(/^s-[a-z2-7]{16}$/);
      expect(payload.uidp).toMatch(new RegExp(`/${root.tokenId}/$`));
      expect(auth).toMatchObject({
        tokenType: 'Bearer',
        expiresIn: 900,
        expiresAt: new Date((iat + 900) * 1000).toISOString(),
        authMethodId: method.id,
        uidTokenId: root.tokenId,
      });
      // Sessions from different authentications are distinct tokens.
      const again = await uidAuth(s, root.token);
      expect(decode(again.body.token).payload.jti).not.toBe(payload.jti);
    });

    it('from an access key has no uid claims', async () => {
      const { payload } = decode(await adminSession(s));
      expect(payload.am).toBe(s.adminAccessId);
      expect(payload.client_id).toBe(s.adminAccessId);
      expect(payload).not.toHaveProperty('uid');
      expect(payload).not.toHaveProperty('uidp');
    });

    it('never outlives the UID token it came from', async () => {
      const { auth } = await uidSession({ ttlSeconds: 300, jwtTtlSeconds: 3600 });
      expect(auth.expiresIn).toBe(300);
    });

    it('verifies with node:crypto against the published JWKS', async () => {
      const { token } = await uidSession();
      const { header, signingInput, signature } = decode(token);
      const jwk = (await jwks()).find((k) => k.kid === header.kid)!;
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
      expect(signature).toHaveLength(64);
      expect(verify(null, Buffer.from(signingInput), key, signature)).toBe(true);
      expect(verify(null, Buffer.from(`${signingInput}x`), key, signature)).toBe(false);
    });
  });

  describe('verification', () => {
    it('accepts a valid token, with or without the t- prefix', async () => {
      const { token } = await uidSession();
      expect((await me(token)).status).toBe(200);
      expect((await me(`t-${token}`)).status).toBe(200);
    });

    it('refuses a missing credential with 401 TESSERA_UNAUTHENTICATED and a WWW-Authenticate challenge', async () => {
      expectRefused(await me(''), 'TESSERA_UNAUTHENTICATED');
      expectRefused(await admin(''), 'TESSERA_UNAUTHENTICATED');
      for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Token abc', 'bearer']) {
        const r = await s.call('GET', '/v1/identities', { headers: { authorization } });
        expectRefused(r, 'TESSERA_UNAUTHENTICATED');
      }
      const raw = await s.tessera.app.inject({ method: 'GET', url: '/v1/identities' });
      expect(raw.statusCode).toBe(401);
      expect(raw.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('refuses a token for another audience or issuer with TESSERA_TOKEN_INVALID', async () => {
      const { token } = await uidSession();
      const { payload } = decode(token);
      for (const claims of [
        { ...payload, aud: 'other' },
        { ...payload, aud: ['other', 'another'] },
        { ...payload, aud: 'Tessera' },
        { ...payload, iss: 'http://evil.test' },
      ]) {
        const forged = s.tessera.keyring.signJwt(claims);
        expectRefused(await me(forged), 'TESSERA_TOKEN_INVALID');
        expectRefused(
          await admin(s.tessera.keyring.signJwt({ ...claims, am: s.adminAccessId })),
          'TESSERA_TOKEN_INVALID',
        );
      }
      // The same claims with the right audience are fine: the refusal was the audience.
      expect((await me(s.tessera.keyring.signJwt({ ...payload, jti: 's-resigned' }))).status).toBe(200);
    });

    it('refuses a token whose required claims are missing or mistyped', async () => {
      const { token } = await uidSession();
      const { payload } = decode(token);
      const without = (k: string) => Object.fromEntries(Object.entries(payload).filter(([key]) => key !== k));
      for (const claims of [
        without('sub'),
        without('am'),
        without('jti'),
        without('exp'),
        without('iat'),
        { ...payload, exp: String(payload.exp) },
        { ...payload, sub: 42 },
        { ...payload, uid: ['x'] },
        { ...payload, iat: payload.iat + 3600 }, // issued in the future, beyond clock skew
      ]) {
        expectRefused(await me(s.tessera.keyring.signJwt(claims)), 'TESSERA_TOKEN_INVALID');
      }
    });

    it('refuses an expired token with TESSERA_TOKEN_EXPIRED (even once verified and cached)', async () => {
      const { token, auth } = await uidSession({ jwtTtlSeconds: 120 });
      expect((await me(token)).status).toBe(200);
      s.clock.advance(auth.expiresIn - 1);
      expect((await me(token)).status).toBe(200);
      s.clock.advance(1);
      expectRefused(await me(token), 'TESSERA_TOKEN_EXPIRED');
      expectRefused(await me(`t-${token}`), 'TESSERA_TOKEN_EXPIRED');
      // A forged, already-expired token (never seen before) is refused the same way.
      const { payload } = decode(token);
      const stale = s.tessera.keyring.signJwt({
        ...payload,
        jti: 's-stale',
        exp: Math.floor(s.clock.ms / 1000) - 1,
      });
      expectRefused(await me(stale), 'TESSERA_TOKEN_EXPIRED');
    });

    it('refuses tampered tokens with TESSERA_TOKEN_INVALID', async () => {
      const { token } = await uidSession();
      const [h, p, sig] = token.split('.') as [string, string, string];
      const { payload } = decode(token);
      const flip = (text: string, i: number) =>
        text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
      const tampered = [
        `${h}.${b64({ ...payload, sub: 'i-someoneelse' })}.${sig}`,
        `${h}.${b64({ ...payload, exp: payload.exp + 86_400 })}.${sig}`,
        `${h}.${b64({ ...payload, am: s.adminAccessId })}.${sig}`,
        `${h}.${p}.${flip(sig, 5)}`,
        `${h}.${flip(p, 10)}.${sig}`,
        `${h}.${p}.${sig.slice(0, -4)}`,
        `${h}.${p}.${sig}${sig}`,
        `${h}.${p}.`,
        `${h}.${p}`,
        `${h}.${p}.${sig}.${sig}`,
        `.${p}.${sig}`,
        `${h}..${sig}`,
        `${b64('not json')}.${p}.${sig}`,
        `${h}.${b64('[]')}.${sig}`,
        'not-a-jwt',
        `u-${'A'.repeat(49)}`,
      ];
      for (const t of tampered) {
        const r = await admin(t);
        expect(r.status, t).toBe(401);
        expect(r.body.error.code, t).toBe('TESSERA_TOKEN_INVALID');
      }
    });

    it('refuses alg none, HS256 (keyed with the public key), a wrong typ, an unknown kid and a foreign key', async () => {
      const { token } = await uidSession();
      const { header, payload } = decode(token);
      const jwk = (await jwks()).find((k) => k.kid === header.kid)!;
      const forged: Record<string, string> = {};
      const p = b64(payload);

      forged.none = `${b64({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${p}.`;
      forged.noneWithSig = `${b64({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${p}.${b64('x'.repeat(64))}`;
      forged.noneNoKid = `${b64({ alg: 'none' })}.${p}.`;
      const secrets = [jwk.x, Buffer.from(jwk.x, 'base64url'), JSON.stringify(jwk)];
      secrets.forEach((secret, i) => {
        const h = b64({ alg: 'HS256', typ: 'at+jwt', kid: header.kid });
        const mac = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
        forged[`hs256-${i}`] = `${h}.${p}.${mac}`;
      });
      const sigOf = token.split('.')[2];
      forged.typJwt = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: header.kid })}.${p}.${sigOf}`;
      forged.noTyp = `${b64({ alg: 'EdDSA', kid: header.kid })}.${p}.${sigOf}`;
      forged.ES256 = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: header.kid })}.${p}.${sigOf}`;
      forged.noKid = `${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${p}.${sigOf}`;

      // A well-formed EdDSA token signed by an attacker's key: under the server's kid, under an
      // unknown kid, and with the attacker's key embedded in the header (RFC 7515 `jwk`).
      const attacker = generateKeyPairSync('ed25519');
      const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
      const signed = (h: unknown) => {
        const input = `${b64(h)}.${p}`;
        return `${input}.${sign(null, Buffer.from(input), attacker.privateKey).toString('base64url')}`;
      };
      forged.foreignKey = signed({ alg: 'EdDSA', typ: 'at+jwt', kid: header.kid });
      forged.unknownKid = signed({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-attacker' });
      forged.embeddedJwk = signed({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-attacker', jwk: attackerJwk });
      forged.jku = signed({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-attacker', jku: 'http://evil.test/jwks' });

      for (const [name, t] of Object.entries(forged)) {
        const r = await me(t);
        expect(r.status, name).toBe(401);
        expect(r.body.error.code, name).toBe('TESSERA_TOKEN_INVALID');
      }
    });

    it('refuses a UID session on admin routes with 403 TESSERA_FORBIDDEN', async () => {
      const { token } = await uidSession();
      const attempts = [
        s.call('GET', '/v1/identities', { token }),
        s.call('POST', '/v1/identities', { token, body: { name: 'sneaky', kind: 'service', owner: 'x' } }),
        s.call('GET', '/v1/auth-methods', { token }),
        s.call('POST', '/v1/auth-methods', { token, body: { type: 'access_key', name: 'sneaky-admin' } }),
        s.call('GET', `/v1/auth-methods/${s.adminAccessId}`, { token }),
        s.call('DELETE', `/v1/auth-methods/${s.adminAccessId}`, { token }),
        s.call('POST', '/v1/uid/tokens', { token, body: { authMethodName: 'tessera-admin' } }),
      ];
      for (const r of await Promise.all(attempts)) {
        expect(r.status, JSON.stringify(r.body)).toBe(403);
        expect(r.body.error.code).toBe('TESSERA_FORBIDDEN');
      }
      // Nothing was created.
      const list = await s.call('GET', '/v1/identities?limit=500', { token: await adminSession(s) });
      expect(list.body.items.map((i: { name: string }) => i.name)).not.toContain('sneaky');
    });

    it('refuses a non-admin access-key session on admin routes with 403', async () => {
      const created = await s.call('POST', '/v1/auth-methods', {
        token: await adminSession(s),
        body: { type: 'access_key', name: `/test/ak-${Math.random().toString(36).slice(2, 8)}` },
      });
      expect(created.status).toBe(201);
      const auth = await s.call('POST', '/v1/auth', {
        body: {
          accessType: 'access_key',
          accessId: created.body.authMethod.id,
          accessKey: created.body.accessKey,
        },
      });
      expect(auth.status).toBe(200);
      const r = await admin(auth.body.token);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('TESSERA_FORBIDDEN');
    });

    it('refuses a UID token presented where a session token is needed', async () => {
      const { root } = await uidSession();
      expectRefused(await admin(root.token), 'TESSERA_TOKEN_INVALID');
    });
  });

  describe('signing-key rotation', () => {
    it('keeps old tokens verifying, signs new ones with the new kid, and publishes both keys', async () => {
      const { token: before, root } = await uidSession();
      const oldKid = decode(before).header.kid;
      expect(s.tessera.keyring.activeKid()).toBe(oldKid);
      const maxTtlMs = s.config.maxSessionTtlSeconds * 1000;
      const newKid = await s.tessera.keyring.rotate(s.clock.ms, maxTtlMs);
      expect(newKid).not.toBe(oldKid);
      expect(s.tessera.keyring.activeKid()).toBe(newKid);

      expect((await me(before)).status).toBe(200);
      const after = (await uidAuth(s, root.token)).body.token as string;
      expect(decode(after).header.kid).toBe(newKid);
      expect((await me(after)).status).toBe(200);
      const kids = (await jwks()).map((k) => k.kid);
      expect(kids).toContain(oldKid);
      expect(kids).toContain(newKid);

      // Both verify with node:crypto against the JWKS.
      const keys = await jwks();
      for (const t of [before, after]) {
        const { header, signingInput, signature } = decode(t);
        const jwk = keys.find((k) => k.kid === header.kid)!;
        const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
        expect(verify(null, Buffer.from(signingInput), key, signature)).toBe(true);
      }
    });

    it('drops a retired key from the JWKS once every token it signed has expired', async () => {
      const oldKid = s.tessera.keyring.activeKid()!;
      const maxTtlMs = s.config.maxSessionTtlSeconds * 1000;
      await s.tessera.keyring.rotate(s.clock.ms, maxTtlMs);
      expect((await jwks()).map((k) => k.kid)).toContain(oldKid);
      s.clock.advance(s.config.maxSessionTtlSeconds + 1);
      const newest = await s.tessera.keyring.rotate(s.clock.ms, maxTtlMs);
      const kids = (await jwks()).map((k) => k.kid);
      expect(kids).not.toContain(oldKid);
      expect(kids).toContain(newest);
    });
  });

  describe('identity lifecycle', () => {
    const patch = async (identityId: string, body: Record<string, unknown>) =>
      s.call('PATCH', `/v1/identities/${identityId}`, { token: await adminSession(s), body });

    it('suspension refuses the identity’s session tokens, new authentication and holder operations', async () => {
      const { token, method, root } = await uidSession();
      const child = await s.call('POST', '/v1/uid/children', {
        token: root.token,
        body: { ttlSeconds: 600 },
      });
      expect(child.status).toBe(201);
      const childSession = (await uidAuth(s, child.body.token)).body.token;
      expect((await me(token)).status).toBe(200);

      const r = await patch(method.identityId, { state: 'suspended' });
      expect(r.status).toBe(200);
      expect(r.body.state).toBe('suspended');

      expectRefused(await me(token), 'TESSERA_TOKEN_REVOKED');
      expectRefused(await me(childSession), 'TESSERA_TOKEN_REVOKED');
      expectRefused(await uidAuth(s, root.token), 'TESSERA_AUTH_FAILED');
      expectRefused(await uidAuth(s, child.body.token), 'TESSERA_AUTH_FAILED');
      expectRefused(
        await s.call('POST', '/v1/uid/rotate', { token: root.token, body: {} }),
        'TESSERA_AUTH_FAILED',
      );
      expectRefused(
        await s.call('POST', '/v1/uid/children', { token: root.token, body: { ttlSeconds: 600 } }),
        'TESSERA_AUTH_FAILED',
      );
    });

    it('a resumed identity can authenticate again; its tokens from before stay revoked', async () => {
      const { token, method, root } = await uidSession();
      expect((await patch(method.identityId, { state: 'suspended' })).status).toBe(200);
      s.clock.advance(5);
      const resumed = await patch(method.identityId, { state: 'active' });
      expect(resumed.status).toBe(200);
      expect(resumed.body.state).toBe('active');
      s.clock.advance(1);

      const auth = await uidAuth(s, root.token);
      expect(auth.status).toBe(200);
      expect((await me(auth.body.token)).status).toBe(200);
      expectRefused(await me(token), 'TESSERA_TOKEN_REVOKED');
    });

    it('a token issued right after the identity is resumed works, even within the same second', async () => {
      // Suspend and resume at one instant, then authenticate: the new session was issued after
      // the revocation and must not be caught by it (ADR 0003: only tokens issued at or before it).
      const { method, root } = await uidSession();
      expect((await patch(method.identityId, { state: 'suspended' })).status).toBe(200);
      s.clock.advance(0.3);
      expect((await patch(method.identityId, { state: 'active' })).status).toBe(200);
      s.clock.advance(0.3);
      const auth = await uidAuth(s, root.token);
      expect(auth.status).toBe(200);
      const r = await me(auth.body.token);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    });

    it('retirement refuses the identity’s tokens and new authentication, for good', async () => {
      const { token, method, root } = await uidSession();
      const retired = await s.call('POST', `/v1/identities/${method.identityId}/retire`, {
        token: await adminSession(s),
      });
      expect(retired.status).toBe(200);
      expect(retired.body.state).toBe('retired');
      expectRefused(await me(token), 'TESSERA_TOKEN_REVOKED');
      expectRefused(await uidAuth(s, root.token), 'TESSERA_AUTH_FAILED');

      const revive = await patch(method.identityId, { state: 'active' });
      expect(revive.status).toBe(409);
      expect(revive.body.error.code).toBe('TESSERA_CONFLICT');
      s.clock.advance(2);
      expectRefused(await uidAuth(s, root.token), 'TESSERA_AUTH_FAILED');
    });

    it('suspending an access-key identity refuses its sessions and its key', async () => {
      const created = await s.call('POST', '/v1/auth-methods', {
        token: await adminSession(s),
        body: { type: 'access_key', name: `/test/ak-${Math.random().toString(36).slice(2, 8)}` },
      });
      const body = {
        accessType: 'access_key',
        accessId: created.body.authMethod.id,
        accessKey: created.body.accessKey,
      };
      const session = (await s.call('POST', '/v1/auth', { body })).body.token;
      expect((await s.call('GET', '/v1/uid/tree', { token: session })).status).not.toBe(401);
      expect((await patch(created.body.authMethod.identityId, { state: 'suspended' })).status).toBe(200);
      expectRefused(await s.call('GET', '/v1/uid/tree', { token: session }), 'TESSERA_TOKEN_REVOKED');
      expectRefused(await s.call('POST', '/v1/auth', { body }), 'TESSERA_AUTH_FAILED');
    });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTesseraCredentials } from '@tessera/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialKindOf } from '../src/crypto/credentials.js';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import {
  freshPostgresDatabase,
  type ServerPair,
  STORES,
  startServerPair,
  startTestServer,
  type TestServer,
} from './harness.js';

const TOKENS = '/v1/oauth/registration-tokens';
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

/**
 * Path-scoped registration tokens (RFC 7591 initial access tokens, ADR 0047): issued by an
 * administrator, shown once, stored hashed, expiring, optionally limited in uses (spent atomically
 * in the store), confining the clients they register to their path; leaked ones are revocable.
 */
describe.each(STORES)('OAuth registration tokens on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const issue = async (body: Record<string, unknown>) => {
    const r = await s.call('POST', TOKENS, { token: s.adminToken, body });
    if (r.body?.token) s.track(r.body.token);
    return r;
  };
  const register = async (token: string, body: unknown) => {
    const r = await s.call('POST', '/oauth/register', { token, body });
    if (r.body?.client_secret) s.track(r.body.client_secret);
    if (r.body?.registration_access_token) s.track(r.body.registration_access_token);
    return r;
  };
  const auditOf = async (type: string) =>
    (
      await (s.tessera.store.db as any)
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', type)
        .orderBy('seq')
        .execute()
    ).map((e: any) => ({ ...e, actor: JSON.parse(e.actor), data: JSON.parse(e.data) }));

  it('is issued once, recognisable by its prefix and checksum, and stored as its hash only', async () => {
    const r = await issue({ path: '/ci/*', ttlSeconds: 3600, maxUses: 5, description: 'CI runners' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.token).toMatch(/^tri-/);
    expect(credentialKindOf(r.body.token)).toBe('initial_access_token');
    expect(findTesseraCredentials(`export TESSERA_REG=${r.body.token}\n`)).toMatchObject([
      { kind: 'initial_access_token', value: r.body.token },
    ]);
    expect(r.body.registrationToken).toMatchObject({
      path: '/ci/*',
      description: 'CI runners',
      state: 'active',
      maxUses: 5,
      uses: 0,
      revokedAt: null,
      createdBy: expect.stringMatching(/^i-/),
      // Without an owner given, the issuer's own owner (the bootstrap administrator's is `bootstrap`).
      owner: 'bootstrap',
    });
    const rows = await (s.tessera.store.db as any)
      .selectFrom('oauth_initial_access_tokens')
      .selectAll()
      .execute();
    const row = rows.find((x: any) => x.id === r.body.registrationToken.id);
    expect(row.token_hash).toBe(sha256(r.body.token));
    expect(JSON.stringify(rows)).not.toContain(r.body.token);
    // Listed and read without the token itself.
    const listed = await s.call('GET', TOKENS, { token: s.adminToken });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((t: any) => t.id)).toContain(r.body.registrationToken.id);
    expect(JSON.stringify(listed.body)).not.toContain(r.body.token);
    const one = await s.call('GET', `${TOKENS}/${r.body.registrationToken.id}`, { token: s.adminToken });
    expect(one.body).toEqual(r.body.registrationToken);
    const created = (await auditOf('oauth.registration_token_created')).at(-1);
    expect(created.data).toMatchObject({
      registrationTokenId: r.body.registrationToken.id,
      path: '/ci/*',
      owner: 'bootstrap',
    });
  });

  it('has an owner, shown in list and get, who owns every identity it creates', async () => {
    const r = await issue({ path: '/owned/*', ttlSeconds: 3600, owner: 'group:platform' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.registrationToken.owner).toBe('group:platform');
    const id = r.body.registrationToken.id;
    const listed = await s.call('GET', `${TOKENS}?limit=100`, { token: s.adminToken });
    expect(listed.body.items.find((t: any) => t.id === id)).toMatchObject({ owner: 'group:platform' });
    const one = await s.call('GET', `${TOKENS}/${id}`, { token: s.adminToken });
    expect(one.body.owner).toBe('group:platform');
    const registered = await register(r.body.token, { client_name: '/owned/agent' });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const client = await s.call('GET', `/v1/oauth-clients/${registered.body.client_id}`, {
      token: s.adminToken,
    });
    const identity = await s.call('GET', `/v1/identities/${client.body.identityId}`, { token: s.adminToken });
    expect(identity.body).toMatchObject({ name: '/owned/agent', owner: 'group:platform' });
    const event = (await auditOf('oauth.client_registered')).find(
      (e: any) => e.data.clientId === registered.body.client_id,
    );
    expect(event.data).toMatchObject({ registrationTokenId: id, owner: 'group:platform' });
    // An owner meaning nobody is refused: the identities would be flagged as owner-less (NHI1).
    for (const owner of ['unassigned', ' none ', 'Nobody', ' ']) {
      const refused = await issue({ path: '/owned/*', ttlSeconds: 600, owner });
      expect(refused.status, owner).toBe(400);
      expect(refused.body.error).toMatchObject({
        code: 'TESSERA_VALIDATION_FAILED',
        details: { field: 'owner' },
      });
    }
  });

  it('a client registered with an administrator session gets a new identity owned by the caller’s owner', async () => {
    const r = await register(s.adminToken, { client_name: '/session-reg/agent' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const client = await s.call('GET', `/v1/oauth-clients/${r.body.client_id}`, { token: s.adminToken });
    const identity = await s.call('GET', `/v1/identities/${client.body.identityId}`, { token: s.adminToken });
    expect(identity.body.owner).toBe('bootstrap');
  });

  it('two concurrent registrations of one name: one 201, the others a clean 400, one identity', async () => {
    const { body } = await issue({ path: '/same/*', ttlSeconds: 600 });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => register(body.token, { client_name: '/same/agent' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(results.map((r) => r.body))).toEqual([201, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400))
      expect(r.body.error).toBe('invalid_client_metadata');
    const identities = await (s.tessera.store.db as any)
      .selectFrom('identities')
      .select(['id', 'owner'])
      .where('name', '=', '/same/agent')
      .execute();
    expect(identities).toHaveLength(1);
    // Only the registration that happened spent a use; every refusal is audited with its reason.
    const state = await s.call('GET', `${TOKENS}/${body.registrationToken.id}`, { token: s.adminToken });
    expect(state.body.uses).toBe(1);
    const refused = (await auditOf('oauth.client_registration_refused')).filter(
      (e: any) => e.data.registrationTokenId === body.registrationToken.id,
    );
    expect(refused.map((e: any) => e.reason)).toEqual([
      'identity_exists',
      'identity_exists',
      'identity_exists',
    ]);
  });

  it('never attaches a client to an identity created in the same instant', async () => {
    const { body } = await issue({ path: '/instant/*', ttlSeconds: 600, owner: 'group:ci' });
    const pairs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const name = `/instant/n${i}`;
        const [identity, registration] = await Promise.all([
          s.call('POST', '/v1/identities', {
            token: s.adminToken,
            body: { name, kind: 'service', owner: 'person:alice@example.com' },
          }),
          register(body.token, { client_name: name }),
        ]);
        return { name, identity, registration };
      }),
    );
    for (const { name, identity, registration } of pairs) {
      const outcome = `${name}: ${identity.status} ${JSON.stringify(registration.body)}`;
      // Exactly one of the two creates the identity; the other is a 4xx.
      expect([identity.status, registration.status].sort(), outcome).toSatisfy(
        (st: number[]) => (st[0] === 201 && st[1] === 409) || (st[0] === 201 && st[1] === 400),
      );
      if (registration.status === 201) {
        const client = await s.call('GET', `/v1/oauth-clients/${registration.body.client_id}`, {
          token: s.adminToken,
        });
        const owned = await s.call('GET', `/v1/identities/${client.body.identityId}`, {
          token: s.adminToken,
        });
        expect(owned.body.owner, outcome).toBe('group:ci');
      } else {
        expect(registration.body.error, outcome).toBe('invalid_client_metadata');
      }
    }
  });

  it('registers clients inside its path with new identities, audited with its id', async () => {
    const { body } = await issue({ path: '/ci/*', ttlSeconds: 3600, maxUses: 3 });
    const named = await register(body.token, { client_name: '/ci/deployer' });
    expect(named.status, JSON.stringify(named.body)).toBe(201);
    expect(named.body.client_secret).toMatch(/^tcs-/);
    // Without client_name the name is made inside the path.
    const unnamed = await register(body.token, {});
    expect(unnamed.status, JSON.stringify(unnamed.body)).toBe(201);
    expect(unnamed.body.client_name).toMatch(/^\/ci\/c-[a-z0-9]+$/);
    const client = await s.call('GET', `/v1/oauth-clients/${named.body.client_id}`, { token: s.adminToken });
    const identity = await s.call('GET', `/v1/identities/${client.body.identityId}`, { token: s.adminToken });
    expect(identity.body.name).toBe('/ci/deployer');
    // The secret obtains a token.
    const token = await s.tessera.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${named.body.client_id}:${named.body.client_secret}`).toString('base64')}`,
      },
      payload: 'grant_type=client_credentials',
    });
    expect(token.statusCode, token.body).toBe(200);
    s.track(JSON.parse(token.body).access_token);
    const state = await s.call('GET', `${TOKENS}/${body.registrationToken.id}`, { token: s.adminToken });
    expect(state.body).toMatchObject({ uses: 2, state: 'active' });
    const events = (await auditOf('oauth.client_registered')).filter(
      (e: any) => e.data.registrationTokenId === body.registrationToken.id,
    );
    expect(events.map((e: any) => e.data.name)).toEqual(['/ci/deployer', unnamed.body.client_name]);
    expect(events[0]).toMatchObject({
      outcome: 'success',
      data: { via: 'registration_token', path: '/ci/*', clientId: named.body.client_id },
    });
    // The client's creation is attributed to the token's id, never the token.
    const createdMethod = (await auditOf('auth_method.created')).find(
      (e: any) => e.data.authMethodId === named.body.client_id,
    );
    expect(createdMethod.actor.credentialRef).toBe(body.registrationToken.id);
    // The client it registered can manage itself through RFC 7592, as any registered client.
    const read = await s.call('GET', `/oauth/register/${named.body.client_id}`, {
      headers: { authorization: `Bearer ${named.body.registration_access_token}` },
    });
    expect(read.status).toBe(200);
  });

  it('refuses a name outside its path (403) or an existing identity, without spending a use', async () => {
    const { body } = await issue({ path: '/ci/*', ttlSeconds: 3600, maxUses: 1 });
    for (const name of ['/prod/billing', '/ci', '/cid/x', '/ci/']) {
      const r = await register(body.token, { client_name: name });
      expect([400, 403], `${name}: ${JSON.stringify(r.body)}`).toContain(r.status);
      expect(r.body.error).toBe('invalid_client_metadata');
    }
    const outside = await register(body.token, { client_name: '/prod/billing' });
    expect(outside.status).toBe(403);
    await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: '/ci/existing', kind: 'service', owner: 'alice@example.com' },
    });
    const existing = await register(body.token, { client_name: '/ci/existing' });
    expect(existing.status, JSON.stringify(existing.body)).toBe(400);
    expect(existing.body.error).toBe('invalid_client_metadata');
    const refused = (await auditOf('oauth.client_registration_refused')).filter(
      (e: any) => e.data.registrationTokenId === body.registrationToken.id,
    );
    expect(refused.map((e: any) => e.reason)).toContain('name_outside_path');
    expect(refused.map((e: any) => e.reason)).toContain('identity_exists');
    expect(refused.find((e: any) => e.reason === 'name_outside_path')).toMatchObject({
      outcome: 'denied',
      data: { name: '/prod/billing' },
    });
    // Nothing was spent: the one use is still there.
    expect((await register(body.token, { client_name: '/ci/one' })).status).toBe(201);
    const after = await register(body.token, { client_name: '/ci/two' });
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid_token');
    const state = await s.call('GET', `${TOKENS}/${body.registrationToken.id}`, { token: s.adminToken });
    expect(state.body).toMatchObject({ uses: 1, state: 'used_up' });
  });

  it('an exact path allows that one name', async () => {
    const { body } = await issue({ path: '/agents/reporter', ttlSeconds: 600 });
    expect((await register(body.token, { client_name: '/agents/reporter/x' })).status).toBe(403);
    const r = await register(body.token, {});
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.client_name).toBe('/agents/reporter');
  });

  it('spends its last use once under concurrent registrations', async () => {
    const { body } = await issue({ path: '/race/*', ttlSeconds: 600, maxUses: 1 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => register(body.token, { client_name: `/race/c${i}` })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
  });

  it('stops working when it expires or is revoked', async () => {
    const expiring = await issue({ path: '/tmp/*', ttlSeconds: 60 });
    s.clock.advance(61);
    const late = await register(expiring.body.token, { client_name: '/tmp/late' });
    expect(late.status).toBe(401);
    expect(late.body.error).toBe('invalid_token');
    const listed = await s.call('GET', `${TOKENS}/${expiring.body.registrationToken.id}`, {
      token: s.adminToken,
    });
    expect(listed.body.state).toBe('expired');

    const revocable = await issue({ path: '/tmp/*', ttlSeconds: 600 });
    const id = revocable.body.registrationToken.id;
    const revoked = await s.call('POST', `${TOKENS}/${id}/revoke`, { token: s.adminToken });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: 'revoked', revokedAt: expect.any(String) });
    expect((await register(revocable.body.token, { client_name: '/tmp/after' })).status).toBe(401);
    expect(
      (await auditOf('oauth.registration_token_revoked')).map((e: any) => e.data.registrationTokenId),
    ).toContain(id);
    const reasons = (await auditOf('oauth.client_registration_refused')).map((e: any) => e.reason);
    expect(reasons).toContain('registration_token_expired');
    expect(reasons).toContain('registration_token_revoked');
    // An unknown token of the right shape is refused the same way.
    const unknown = await register(`tri-${'A'.repeat(43)}${'B'.repeat(6)}`, {});
    expect(unknown.status).toBe(401);
  });

  it('a leaked token reported to /v1/leaks is identified and revoked, and its own owner alerted', async () => {
    const { body } = await issue({ path: '/leaky/*', ttlSeconds: 3600, owner: 'group:leaky-owners' });
    const report = await s.call('POST', '/v1/leaks', {
      token: s.adminToken,
      body: { items: [{ credential: body.token, location: { uri: 'https://ci.example/log/7' } }] },
    });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    const after = await register(body.token, { client_name: '/leaky/x' });
    expect(after.status).toBe(401);
    const state = await s.call('GET', `${TOKENS}/${body.registrationToken.id}`, { token: s.adminToken });
    expect(state.body.state).toBe('revoked');
    const findings = await s.call('GET', '/v1/leaks?outcome=revoked&limit=100', { token: s.adminToken });
    expect(findings.body.items.find((f: any) => f.kind === 'initial_access_token')).toMatchObject({
      locations: [{ uri: 'https://ci.example/log/7' }],
    });
    // The alert goes to the token's owner, not to the administrator who issued it (`bootstrap`).
    const revokedEvent = (await auditOf('leak.revoked')).find(
      (e: any) => e.data.kind === 'initial_access_token',
    );
    expect(revokedEvent.data.owner).toBe('group:leaky-owners');
  });

  it('refuses bad input with 400 and callers without the right with 401/403', async () => {
    for (const body of [
      { path: 'ci', ttlSeconds: 600 },
      { path: '/ci/*/x', ttlSeconds: 600 },
      { path: '/ci/**', ttlSeconds: 600 },
      { path: '/ci/*', ttlSeconds: 10 },
      { path: '/ci/*', ttlSeconds: 600, maxUses: 0 },
      { path: '/ci/*', ttlSeconds: 600, extra: 1 },
      { path: '/ci/*' },
    ]) {
      const r = await s.call('POST', TOKENS, { token: s.adminToken, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await s.call('POST', TOKENS, { body: { path: '/ci/*', ttlSeconds: 600 } })).status).toBe(401);
    expect((await s.call('GET', `${TOKENS}/rit-nosuch`, { token: s.adminToken })).status).toBe(404);
    expect((await s.call('POST', `${TOKENS}/rit-nosuch/revoke`, { token: s.adminToken })).status).toBe(404);
    expect((await s.call('GET', `${TOKENS}/x'`, { token: s.adminToken })).status).toBe(400);
    // A caller that may create auth methods under /team/ only gets tokens for /team/ only.
    const method = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: '/team/admin' },
    });
    expect(method.status, JSON.stringify(method.body)).toBe(201);
    s.track(method.body.accessKey);
    await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: 'team-admin' } });
    await s.call('POST', '/v1/roles/team-admin/rules', {
      token: s.adminToken,
      body: { ruleType: 'auth-method', path: '/team/*', capabilities: ['create'] },
    });
    await s.call('POST', '/v1/roles/team-admin/associations', {
      token: s.adminToken,
      body: { authMethodName: '/team/admin' },
    });
    const auth = await s.call('POST', '/v1/auth', {
      body: {
        accessType: 'access_key',
        accessId: method.body.authMethod.id,
        accessKey: method.body.accessKey,
      },
    });
    expect(auth.status, JSON.stringify(auth.body)).toBe(200);
    s.track(auth.body.token);
    const team = async (path: string, owner: string | null = 'group:team') => {
      const r = await s.call('POST', TOKENS, {
        token: auth.body.token,
        body: { path, ttlSeconds: 600, ...(owner ? { owner } : {}) },
      });
      if (r.body?.token) s.track(r.body.token);
      return r;
    };
    const teamToken = await team('/team/*');
    expect(teamToken.status).toBe(201);
    expect((await team('/prod/*')).status).toBe(403);
    expect((await team('/*')).status).toBe(403);
    // Its access key's identity has no owner (`unassigned`): it must name one.
    const ownerless = await team('/team/*', null);
    expect(ownerless.status).toBe(400);
    expect(ownerless.body.error).toMatchObject({
      code: 'TESSERA_VALIDATION_FAILED',
      details: { field: 'owner' },
    });

    // Revoking needs what issuing needs (create on the token's path), not delete on every method.
    const prod = await issue({ path: '/other/*', ttlSeconds: 600 });
    const revokeAs = (id: string) => s.call('POST', `${TOKENS}/${id}/revoke`, { token: auth.body.token });
    const denied = await revokeAs(prod.body.registrationToken.id);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('TESSERA_FORBIDDEN');
    const still = await s.call('GET', `${TOKENS}/${prod.body.registrationToken.id}`, { token: s.adminToken });
    expect(still.body.state).toBe('active');
    const refusal = (await auditOf('access.denied')).at(-1);
    expect(refusal).toMatchObject({
      resource: '/other/*',
      data: { action: 'create', route: '/v1/oauth/registration-tokens/:id/revoke' },
    });
    // An unknown id is checked under the id: the team learns nothing it could not issue.
    expect((await revokeAs('rit-nosuch')).status).toBe(403);
    const ended = await revokeAs(teamToken.body.registrationToken.id);
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body).toMatchObject({ state: 'revoked', owner: 'group:team' });
    const revokedEvent = (await auditOf('oauth.registration_token_revoked')).at(-1);
    expect(revokedEvent).toMatchObject({
      data: { registrationTokenId: teamToken.body.registrationToken.id, path: '/team/*' },
    });
    expect(revokedEvent.actor.authMethodId).toBe(method.body.authMethod.id);
  });

  it('emits only catalogued oauth.* events', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'oauth.', [
      'oauth.registration_token_created',
      'oauth.registration_token_revoked',
      'oauth.client_registered',
      'oauth.client_registration_refused',
    ]);
  });
});

/** The uses are spent in the shared store: two servers together never exceed them. */
describe('OAuth registration tokens on two servers on one PostgreSQL database', () => {
  let pair: ServerPair | undefined;
  beforeAll(async () => {
    pair = await startServerPair();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('a two-use token registers exactly two clients across both servers', async () => {
    const { a, b } = pair!;
    const issued = await a.call('POST', TOKENS, {
      token: a.adminToken,
      body: { path: '/multi/*', ttlSeconds: 600, maxUses: 2 },
    });
    expect(issued.status).toBe(201);
    a.track(issued.body.token);
    b.track(issued.body.token);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).call('POST', '/oauth/register', {
          token: issued.body.token,
          body: { client_name: `/multi/c${i}` },
        }),
      ),
    );
    for (const r of results)
      for (const v of [r.body?.client_secret, r.body?.registration_access_token])
        if (v) {
          a.track(v);
          b.track(v);
        }
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    expect(results.filter((r) => r.status === 401)).toHaveLength(6);
    // Revoked on B, refused on A.
    await b.call('POST', `${TOKENS}/${issued.body.registrationToken.id}/revoke`, { token: b.adminToken });
    const state = await a.call('GET', `${TOKENS}/${issued.body.registrationToken.id}`, {
      token: a.adminToken,
    });
    expect(state.body).toMatchObject({ state: 'revoked', uses: 2 });
  });

  it('one name registered on both servers at once: one 201, the others a clean 400, one identity', async () => {
    const { a, b } = pair!;
    const issued = await a.call('POST', TOKENS, {
      token: a.adminToken,
      body: { path: '/both/*', ttlSeconds: 600 },
    });
    expect(issued.status).toBe(201);
    a.track(issued.body.token);
    b.track(issued.body.token);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).call('POST', '/oauth/register', {
          token: issued.body.token,
          body: { client_name: '/both/agent' },
        }),
      ),
    );
    for (const r of results)
      for (const v of [r.body?.client_secret, r.body?.registration_access_token])
        if (v) {
          a.track(v);
          b.track(v);
        }
    expect(results.map((r) => r.status).sort(), JSON.stringify(results.map((r) => r.body))).toEqual([
      201, 400, 400, 400, 400, 400,
    ]);
    for (const r of results.filter((x) => x.status === 400))
      expect(r.body.error).toBe('invalid_client_metadata');
    const identities = await (a.tessera.store.db as any)
      .selectFrom('identities')
      .select(['owner'])
      .where('name', '=', '/both/agent')
      .execute();
    expect(identities).toEqual([{ owner: 'bootstrap' }]);
    const state = await b.call('GET', `${TOKENS}/${issued.body.registrationToken.id}`, {
      token: b.adminToken,
    });
    expect(state.body.uses).toBe(1);
    const refused = (
      await (a.tessera.store.db as any)
        .selectFrom('audit_events')
        .select(['reason', 'data'])
        .where('type', '=', 'oauth.client_registration_refused')
        .execute()
    ).filter((e: any) => JSON.parse(e.data).registrationTokenId === issued.body.registrationToken.id);
    expect(refused.map((e: any) => e.reason)).toEqual(Array(5).fill('identity_exists'));

    // An administrator creating the same name on the other server in the same instant: the
    // client is never attached to that identity.
    const pairs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const name = `/both/n${i}`;
        const [identity, registration] = await Promise.all([
          (i % 2 ? a : b).call('POST', '/v1/identities', {
            token: (i % 2 ? a : b).adminToken,
            body: { name, kind: 'service', owner: 'person:alice@example.com' },
          }),
          (i % 2 ? b : a).call('POST', '/oauth/register', {
            token: issued.body.token,
            body: { client_name: name },
          }),
        ]);
        for (const v of [registration.body?.client_secret, registration.body?.registration_access_token])
          if (v) {
            a.track(v);
            b.track(v);
          }
        return { name, identity, registration };
      }),
    );
    for (const { name, identity, registration } of pairs) {
      const outcome = `${name}: ${identity.status} ${JSON.stringify(registration.body)}`;
      expect([identity.status, registration.status].sort(), outcome).toSatisfy(
        (st: number[]) => st[0] === 201 && (st[1] === 400 || st[1] === 409),
      );
      const owners = await (a.tessera.store.db as any)
        .selectFrom('identities')
        .select(['owner'])
        .where('name', '=', name)
        .execute();
      expect(owners, outcome).toEqual([
        { owner: registration.status === 201 ? 'bootstrap' : 'person:alice@example.com' },
      ]);
    }
  });
});

/** ADR 0052: tokens issued before owners take their issuer's owner; one with no known issuer reads `unassigned`. */
describe.each(STORES)('upgrading a %s store from before registration-token owners', (store) => {
  it('gives existing tokens their issuer’s owner, and unassigned without an issuer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-upgrade-'));
    const pgDb = store === 'postgres' ? await freshPostgresDatabase() : null;
    const url = pgDb?.url ?? `sqlite:${join(dir, 'old.db')}`;
    try {
      const env = { TESSERA_ROOT_KEY: randomBytes(32).toString('base64') };
      const old = await startTestServer(store, env, { storeUrl: url });
      const issue = async (path: string) => {
        const r = await old.call('POST', TOKENS, { token: old.adminToken, body: { path, ttlSeconds: 3600 } });
        expect(r.status).toBe(201);
        return r.body;
      };
      const issued = await issue('/old/*');
      const orphan = await issue('/orphan/*');
      // Back to the schema before ADR 0052, with one token whose issuer is unknown.
      const db = old.tessera.store.db as any;
      await db.schema.alterTable('oauth_initial_access_tokens').dropColumn('owner').execute();
      await db
        .deleteFrom('tessera_migrations_oauth')
        .where('name', '=', '0007-oauth-initial-access-token-owner')
        .execute();
      await db
        .updateTable('oauth_initial_access_tokens')
        .set({ created_by: null })
        .where('id', '=', orphan.registrationToken.id)
        .execute();
      const adminAccessKey = old.adminAccessKey;
      await old.close();

      const s = await startTestServer(store, env, { storeUrl: url, adminAccessKey });
      try {
        s.track(issued.token);
        s.track(orphan.token);
        const owners = Object.fromEntries(
          (await s.call('GET', `${TOKENS}?limit=100`, { token: s.adminToken })).body.items.map((t: any) => [
            t.path,
            t.owner,
          ]),
        );
        expect(owners).toEqual({ '/old/*': 'bootstrap', '/orphan/*': 'unassigned' });
        const registered = await s.call('POST', '/oauth/register', {
          token: issued.token,
          body: { client_name: '/old/agent' },
        });
        expect(registered.status, JSON.stringify(registered.body)).toBe(201);
        s.track(registered.body.client_secret);
        s.track(registered.body.registration_access_token);
        const client = await s.call('GET', `/v1/oauth-clients/${registered.body.client_id}`, {
          token: s.adminToken,
        });
        const identity = await s.call('GET', `/v1/identities/${client.body.identityId}`, {
          token: s.adminToken,
        });
        expect(identity.body.owner).toBe('bootstrap');
      } finally {
        await s.close();
      }
    } finally {
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

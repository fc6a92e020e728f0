import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';
import { startTestIdp } from './oidc-idp.js';

const REDIRECT = 'http://tessera.test/v1/login/callback';
const suffix = () => Math.random().toString(36).slice(2, 8);

/**
 * Issue 14: people sign in through a real local IdP (`oidc-provider`) with Tessera as the relying
 * party (authorization code + PKCE); their groups map to exactly the configured roles; a tampered
 * or replayed response is refused; their sessions decide approvals.
 */
describe('single sign-on of people (OIDC relying party)', () => {
  let idp: Awaited<ReturnType<typeof startTestIdp>>;
  let s: TestServer;

  beforeAll(async () => {
    idp = await startTestIdp(REDIRECT);
    idp.addUser({ sub: 'alice-sub', email: 'alice@example.com', name: 'Alice', groups: ['ops', 'staff'] });
    idp.addUser({ sub: 'bob-sub', email: 'bob@example.com', name: 'Bob', groups: ['dev'] });
    idp.addUser({ sub: 'root-sub', email: 'root@example.com', name: 'Root', groups: ['admins'] });
    s = await startTestServer('sqlite', {
      TESSERA_OIDC_ISSUER: idp.issuer,
      TESSERA_OIDC_CLIENT_ID: idp.client.id,
      TESSERA_OIDC_CLIENT_SECRET: idp.client.secret,
      TESSERA_OIDC_ROLE_MAP: 'ops=operators,ops=auditors,admins=tessera-admin',
      TESSERA_OIDC_GROUPS_CLAIM: 'groups',
    });
    for (const role of ['operators', 'auditors', 'unused']) {
      expect((await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } })).status).toBe(
        201,
      );
    }
    await s.call('POST', '/v1/roles/operators/rules', {
      token: s.adminToken,
      body: { ruleType: 'identity', path: '/*', capabilities: ['list', 'read'] },
    });
  });
  afterAll(async () => {
    await s?.close();
    await idp?.close();
  });

  const start = async () => {
    const r = await s.call('POST', '/v1/login/start');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    s.track(r.body.pollToken);
    return r.body as { loginId: string; authorizationUrl: string; pollToken: string };
  };
  const callback = (url: string) => s.call('GET', url.replace('http://tessera.test', ''));
  const poll = (l: { loginId: string; pollToken: string }) =>
    s.call('POST', '/v1/login/poll', { body: { loginId: l.loginId, pollToken: l.pollToken } });

  async function signIn(sub: string) {
    const login = await start();
    expect((await poll(login)).body.status).toBe('pending');
    const back = await idp.signIn(login.authorizationUrl, sub);
    const cb = await callback(back);
    expect(cb.status, JSON.stringify(cb.body)).toBe(200);
    const done = await poll(login);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('done');
    s.track(done.body.token);
    return { token: done.body.token as string, person: done.body.person, back, login };
  }

  const rolesOf = async (authMethodId: string) =>
    (await s.tessera.uow.read((r) => r.roles.listAssociations({ authMethodId })))
      .map((a) => a.roleName)
      .sort();

  it('the authorization URL asks for a code with PKCE S256, state and nonce', async () => {
    const { authorizationUrl } = await start();
    const u = new URL(authorizationUrl);
    expect(u.origin).toBe(idp.issuer);
    expect(u.searchParams.get('response_type')).toBe('code');
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('state')).toBeTruthy();
    expect(u.searchParams.get('nonce')).toBeTruthy();
    expect(u.searchParams.get('redirect_uri')).toBe(REDIRECT);
  });

  it('a person signs in and gets exactly the roles their groups map to', async () => {
    const alice = await signIn('alice-sub');
    expect(alice.person).toMatchObject({
      email: 'alice@example.com',
      subject: 'alice-sub',
      groups: ['ops', 'staff'],
    });
    expect(await rolesOf(alice.person.authMethodId)).toEqual(['auditors', 'operators']);
    expect((await s.call('GET', '/v1/people/me', { token: alice.token })).body.email).toBe(
      'alice@example.com',
    );
    expect((await s.call('GET', '/v1/identities', { token: alice.token })).status).toBe(200);
    // Second sign-in: the same person, not a new one.
    const again = await signIn('alice-sub');
    expect(again.person.id).toBe(alice.person.id);

    const bob = await signIn('bob-sub');
    expect(await rolesOf(bob.person.authMethodId)).toEqual([]);
    expect((await s.call('GET', '/v1/identities', { token: bob.token })).status).toBe(403);
    const admin = await signIn('root-sub');
    expect(await rolesOf(admin.person.authMethodId)).toEqual(['tessera-admin']);
    expect((await s.call('GET', '/v1/people', { token: admin.token })).body.items.length).toBe(3);
    // The admin access key keeps working.
    expect((await s.call('GET', '/v1/people', { token: s.adminToken })).status).toBe(200);
  });

  it('a replayed login response is refused, and the session is collected once', async () => {
    const alice = await signIn('alice-sub');
    const replay = await callback(alice.back);
    expect(replay.status).toBe(401);
    expect((await poll(alice.login)).status).toBe(401);
    const refused = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['reason'])
      .where('type', '=', 'person.login_refused')
      .execute();
    expect(refused.map((e) => e.reason)).toContain('login_replayed');
  });

  it('a tampered login response is refused (code, state, or a response swapped into another login)', async () => {
    const a = await start();
    const back = new URL(await idp.signIn(a.authorizationUrl, 'alice-sub'));
    const code = back.searchParams.get('code')!;
    const tamperedCode = new URL(back);
    tamperedCode.searchParams.set('code', `${code.slice(0, -2)}xx`);
    expect((await callback(tamperedCode.toString())).status).toBe(401);

    const b = await start();
    const backB = new URL(await idp.signIn(b.authorizationUrl, 'bob-sub'));
    const unknownState = new URL(backB);
    unknownState.searchParams.set('state', 'st-forged');
    expect((await callback(unknownState.toString())).status).toBe(401);

    // Bob's code delivered with another login's state: PKCE and nonce do not match.
    const c = await start();
    const swapped = new URL(backB);
    swapped.searchParams.set('state', new URL(c.authorizationUrl).searchParams.get('state')!);
    expect((await callback(swapped.toString())).status).toBe(401);
    expect((await poll(c)).body.status).toBe('pending');
    expect(
      (await s.call('POST', '/v1/login/poll', { body: { loginId: c.loginId, pollToken: 'lp-wrong' } }))
        .status,
    ).toBe(401);
    const reasons = (
      await s.tessera.store.db
        .selectFrom('audit_events')
        .select('reason')
        .where('type', '=', 'person.login_refused')
        .execute()
    ).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['unknown_state', 'idp_response_invalid']));
  });

  it('a person decides approvals with their session: the owner approves, self-approval is refused', async () => {
    const alice = await signIn('alice-sub');
    const bob = await signIn('bob-sub');
    const { method, root } = await uidSetup(
      s,
      { owner: 'person:alice@example.com' },
      `/agents/p-${suffix()}`,
    );
    const agent = (await uidAuth(s, root.token)).body.token;
    const req = await s.call('POST', '/v1/approvals', {
      token: agent,
      body: {
        action: {
          kind: 'jit.elevate',
          identityId: method.identityId,
          roleName: 'operators',
          durationSec: 300,
        },
        justification: 'incident',
      },
    });
    expect(req.status).toBe(201);
    // Bob is neither the owner nor an administrator: he cannot even see it.
    expect((await s.call('POST', `/v1/approvals/${req.body.id}/approve`, { token: bob.token })).status).toBe(
      404,
    );
    const mine = await s.call('GET', '/v1/approvals?mine=true', { token: alice.token });
    expect(mine.body.items.map((a: { id: string }) => a.id)).toContain(req.body.id);
    const ok = await s.call('POST', `/v1/approvals/${req.body.id}/approve`, { token: alice.token, body: {} });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.decisions[0].by).toBe(`person:${alice.person.id}`);

    const own = await s.call('POST', '/v1/approvals', {
      token: alice.token,
      body: {
        action: { kind: 'secret.read', path: '/prod/x' },
        justification: 'mine',
        approvers: { kind: 'group', group: 'ops' },
      },
    });
    expect(own.status).toBe(201);
    expect(own.body.requester).toMatchObject({ kind: 'person', id: alice.person.id });
    const self = await s.call('POST', `/v1/approvals/${own.body.id}/approve`, {
      token: alice.token,
      body: {},
    });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('TESSERA_APPROVAL_SELF');
  });

  it('logout ends the session at once', async () => {
    const alice = await signIn('alice-sub');
    expect((await s.call('POST', '/v1/logout', { token: alice.token })).status).toBe(204);
    expect((await s.call('GET', '/v1/people/me', { token: alice.token })).status).toBe(401);
  });

  it('holds every person.* event of this file to the catalogue, and emits each type', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'person.');
  });
});

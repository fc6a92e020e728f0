/**
 * The official `akeyless` SDK (unmodified, from npm) against a live Tessera: the seed document's
 * flow end to end, through the Akeyless-compatible API at `/akeyless`, checking what the SDK's
 * caller sees.
 */
import akeyless from 'akeyless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

type Api = InstanceType<typeof akeyless.V2Api>;

/** Builds a request model the way SDK users do (so the SDK's defaults are sent too). */
const model = (name: string, fields: Record<string, unknown>) =>
  (akeyless as unknown as Record<string, { constructFromObject(o: object): object }>)[
    name
  ]!.constructFromObject(fields);

/** The SDK rejects with a plain object: `{status, body: {error}}`. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await promise;
  } catch (e) {
    const err = e as { status: number; body: { error?: string } };
    return { status: err.status, error: String(err.body?.error ?? '') };
  }
  throw new Error('the call succeeded; a refusal was expected');
}

describe.each(STORES)('the akeyless SDK against Tessera (%s)', (store) => {
  let s: TestServer;
  let api: Api;
  let admin: string;
  const methodName = '/demo/uid-non-human-auth';

  const track = <T>(value: T): T => {
    if (typeof value === 'string') s.track(value);
    return value;
  };

  beforeAll(async () => {
    s = await startTestServer(store);
    const address = await s.tessera.app.listen({ host: '127.0.0.1', port: 0 });
    // A trailing slash on purpose: the SDK strips it in the constructor.
    api = new akeyless.V2Api(new akeyless.ApiClient(`${address}/akeyless/`));
    const out = await api.auth(
      model('Auth', {
        'access-type': 'access_key',
        'access-id': s.adminAccessId,
        'access-key': s.adminAccessKey,
      }),
    );
    admin = track(out.token as string);
  });
  afterAll(() => s?.close());

  it('signs the administrator in with an access key: a t- token with an expiration', async () => {
    expect(admin).toMatch(/^t-ey/);
    const v = await api.validateToken(model('ValidateToken', { token: admin }));
    expect(v.is_valid).toBe(true);
    expect(v.ttl).toBeGreaterThan(0);
    expect(Date.parse(v.expiration as string)).toBeGreaterThan(s.clock.nowMs());
    const bad = await api.validateToken(model('ValidateToken', { token: `${admin.slice(0, -4)}AAAA` }));
    expect(bad.is_valid).toBe(false);
  });

  it('runs the seed flow: method, role on /demo/*, token, auth, secret, children, rotation, revocation', async () => {
    // Admin setup: the UID method, a role with a rule on /demo/*, the association.
    const created = await api.createAuthMethodUniversalIdentity(
      model('CreateAuthMethodUniversalIdentity', { name: methodName, ttl: 60, token: admin }),
    );
    expect(created.access_id).toMatch(/^p-/);
    await api.createRole(model('CreateRole', { name: 'demo-role', token: admin }));
    await api.setRoleRule(
      model('SetRoleRule', {
        'role-name': 'demo-role',
        path: '/demo/*',
        capability: ['read', 'list', 'create', 'update'],
        token: admin,
      }),
    );
    const assoc = await api.assocRoleAuthMethod(
      model('AssocRoleAuthMethod', { 'role-name': 'demo-role', 'am-name': methodName, token: admin }),
    );
    expect(assoc.assoc_id).toBeTruthy();
    const role = await api.getRole(model('GetRole', { name: 'demo-role', token: admin }));
    expect(role.role_name).toBe('demo-role');
    expect(role.rules.path_rules).toEqual([
      expect.objectContaining({
        path: '/demo/*',
        type: 'item-rule',
        capabilities: ['read', 'list', 'create', 'update'],
      }),
    ]);
    expect(role.role_auth_methods_assoc).toEqual([
      expect.objectContaining({ assoc_id: assoc.assoc_id, auth_method_name: methodName }),
    ]);

    // The bootstrap token; the machine exchanges it for a session token.
    const u0 = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': methodName, token: admin }),
        )
      ).token as string,
    );
    expect(u0).toMatch(/^u-/);
    const t = track(
      (await api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u0 })))
        .token as string,
    );
    expect(t).toMatch(/^t-/);

    // The demo secret, written and read by the machine within its role.
    await api.createSecret(
      model('CreateSecret', { name: '/demo/database-config', value: '{"host":"db","port":5432}', token: t }),
    );
    const values = await api.getSecretValue(
      model('GetSecretValue', { names: ['/demo/database-config'], token: t }),
    );
    expect(values).toEqual({ '/demo/database-config': '{"host":"db","port":5432}' });
    // The u- token also works directly on any call.
    const direct = await api.getSecretValue(
      model('GetSecretValue', { names: ['/demo/database-config'], 'uid-token': u0 }),
    );
    expect(direct['/demo/database-config']).toBe('{"host":"db","port":5432}');

    // Child tokens with different TTLs, and the tree the SDK expects.
    const db = track(
      (await api.uidCreateChildToken(model('UidCreateChildToken', { 'uid-token': u0, 'child-ttl': 30 })))
        .token as string,
    );
    const gw = track(
      (
        await api.uidCreateChildToken(
          model('UidCreateChildToken', { 'uid-token': u0, 'child-ttl': 60, 'child-deny-inheritance': true }),
        )
      ).token as string,
    );
    expect(db).toMatch(/^u-/);
    // deny-inheritance on the gateway's token: it may not have children of its own.
    const noKids = await refusal(api.uidCreateChildToken(model('UidCreateChildToken', { 'uid-token': gw })));
    expect(noKids.status).toBe(403);
    const tree = await api.uidListChildren(model('UidListChildren', { 'uid-token': u0 }));
    expect(tree.number_of_tokens).toBe(3);
    expect(tree.max_depth).toBe(1);
    const children = Object.values(tree.root.children) as Array<{
      id: string;
      ttl: number;
      depth: number;
      deny_inheritance: boolean;
    }>;
    expect(children.map((c) => c.ttl).sort((a, b) => a - b)).toEqual([30, 60]);
    for (const [id, child] of Object.entries(tree.root.children))
      expect((child as { id: string }).id).toBe(id);
    expect(children.every((c) => c.depth === 1)).toBe(true);
    expect(children.find((c) => c.ttl === 60)!.deny_inheritance).toBe(true);
    expect(tree.root.ttl).toBe(60);
    expect(tree.root.expired_date).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    // Self-rotation: the new token works; the old one is refused once the new one has been used.
    const u1 = track(
      (await api.uidRotateToken(model('UidRotateToken', { 'uid-token': u0 }))).token as string,
    );
    expect(u1).not.toBe(u0);
    const t1 = track(
      (await api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u1 })))
        .token as string,
    );
    expect(t1).toMatch(/^t-/);
    const old = await refusal(
      api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u0 })),
    );
    expect(old.status).toBe(401);
    expect(old.error).toBeTruthy();
    // Presenting the rotated-away token was reuse: the default policy revoked the subtree.
    const afterReuse = await refusal(
      api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u1 })),
    );
    expect(afterReuse.status).toBe(401);
  });

  it('revokes one node (children move up) and a whole subtree; a revoked token gets an error', async () => {
    const root = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': methodName, token: admin }),
        )
      ).token as string,
    );
    const app = track(
      (await api.uidCreateChildToken(model('UidCreateChildToken', { 'uid-token': root, 'child-ttl': 120 })))
        .token as string,
    );
    const worker = track(
      (await api.uidCreateChildToken(model('UidCreateChildToken', { 'uid-token': app, 'child-ttl': 30 })))
        .token as string,
    );

    // revokeSelf on the middle node: it stops working, its child stays valid under the root.
    await api.uidRevokeToken(
      model('UidRevokeToken', { 'revoke-token': app, 'revoke-type': 'revokeSelf', 'uid-token': root }),
    );
    expect(
      (await refusal(api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': app }))))
        .status,
    ).toBe(401);
    const stillThere = await api.auth(
      model('Auth', { 'access-type': 'universal_identity', 'uid-token': worker }),
    );
    expect(track(stillThere.token as string)).toMatch(/^t-/);
    const tree = await api.uidListChildren(model('UidListChildren', { 'uid-token': root }));
    const kids = Object.values(tree.root.children) as Array<{ depth: number }>;
    expect(kids.some((k) => k.depth === 1)).toBe(true);

    // revokeAll from the root (by an administrator): nothing below it works any more.
    await api.uidRevokeToken(
      model('UidRevokeToken', {
        'revoke-token': root,
        'revoke-type': 'revokeAll',
        'auth-method-name': methodName,
        token: admin,
      }),
    );
    for (const token of [root, worker]) {
      const r = await refusal(
        api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': token })),
      );
      expect(r.status).toBe(401);
    }
    const call = await refusal(api.uidListChildren(model('UidListChildren', { 'uid-token': worker })));
    expect(call.status).toBe(401);
    expect(call.error).toMatch(/not valid|authenticat/i);
  });

  it('refuses a read outside the role path with 403, and writes nothing', async () => {
    await api.createSecret(
      model('CreateSecret', { name: '/prod/payments-key', value: 'outside', token: admin }),
    );
    const root = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': methodName, token: admin }),
        )
      ).token as string,
    );
    const t = track(
      (await api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': root })))
        .token as string,
    );
    const denied = await refusal(
      api.getSecretValue(model('GetSecretValue', { names: ['/prod/payments-key'], token: t })),
    );
    expect(denied.status).toBe(403);
    expect(denied.error).toMatch(/permission/i);
    // One name outside the path refuses the whole batch.
    const batch = await refusal(
      api.getSecretValue(
        model('GetSecretValue', { names: ['/demo/database-config', '/prod/payments-key'], token: t }),
      ),
    );
    expect(batch.status).toBe(403);
    const write = await refusal(
      api.createSecret(model('CreateSecret', { name: '/prod/new', value: 'x', token: t })),
    );
    expect(write.status).toBe(403);
    // The administrator can read it: it exists, the refusal was policy.
    const v = await api.getSecretValue(
      model('GetSecretValue', { names: ['/prod/payments-key'], token: admin }),
    );
    expect(v['/prod/payments-key']).toBe('outside');
  });
});

describe.each(STORES)('the rest of the Akeyless command set through the SDK (%s)', (store) => {
  let s: TestServer;
  let api: Api;
  let admin: string;
  const track = (value: unknown): string => {
    s.track(String(value));
    return String(value);
  };

  beforeAll(async () => {
    s = await startTestServer(store);
    const address = await s.tessera.app.listen({ host: '127.0.0.1', port: 0 });
    api = new akeyless.V2Api(new akeyless.ApiClient(`${address}/akeyless`));
    admin = track(
      (
        await api.auth(
          model('Auth', {
            'access-type': 'access_key',
            'access-id': s.adminAccessId,
            'access-key': s.adminAccessKey,
          }),
        )
      ).token,
    );
  });
  afterAll(() => s?.close());

  it('manages auth methods: access key, UID (minutes), list, get, update, delete', async () => {
    const key = await api.createAuthMethod(model('CreateAuthMethod', { name: '/ci/deployer', token: admin }));
    expect(key.access_id).toMatch(/^p-/);
    expect(track(key.access_key)).toBeTruthy();
    const signedIn = await api.auth(
      model('Auth', {
        'access-type': 'access_key',
        'access-id': key.access_id,
        'access-key': key.access_key,
      }),
    );
    track(signedIn.token);
    expect(signedIn.token).toMatch(/^t-/);

    const uid = await api.authMethodCreateUniversalIdentity(
      model('AuthMethodCreateUniversalIdentity', {
        name: '/apps/billing',
        ttl: 120,
        'child-ttl-limit': 90,
        'deny-inheritance': true,
        token: admin,
      }),
    );
    expect(uid).toMatchObject({ access_id: expect.stringMatching(/^p-/), name: '/apps/billing' });
    const got = await api.getAuthMethod(model('GetAuthMethod', { name: '/apps/billing', token: admin }));
    expect(got.auth_method_access_id).toBe(uid.access_id);
    expect(got.creation_date).toBeInstanceOf(Date);
    expect(got.access_info.rules_type).toBe('universal_identity');
    expect(got.access_info.universal_identity_access_rules).toMatchObject({
      ttl: 120,
      child_ttl_limit: 90,
      tree_length: 32, // the SDK sent its default 200: capped at Tessera's maximum depth
      deny_inheritance: true,
    });

    await api.updateAuthMethodUniversalIdentity(
      model('UpdateAuthMethodUniversalIdentity', {
        name: '/apps/billing',
        ttl: 30,
        'deny-inheritance': false,
        token: admin,
      }),
    );
    const updated = await api.getAuthMethod(model('GetAuthMethod', { name: '/apps/billing', token: admin }));
    expect(updated.access_info.universal_identity_access_rules).toMatchObject({
      ttl: 30,
      deny_inheritance: false,
    });

    const list = await api.listAuthMethods(
      model('ListAuthMethods', { type: ['universal_identity'], token: admin }),
    );
    const names = list.auth_methods.map((m: { auth_method_name: string }) => m.auth_method_name);
    expect(names).toContain('/apps/billing');
    expect(names).not.toContain('/ci/deployer');

    await api.deleteAuthMethod(model('DeleteAuthMethod', { name: '/apps/billing', token: admin }));
    const gone = await refusal(
      api.getAuthMethod(model('GetAuthMethod', { name: '/apps/billing', token: admin })),
    );
    expect(gone.status).toBe(404);
  });

  it('rotates with a manual acknowledgement, and lets an admin add a child under a node id', async () => {
    await api.createAuthMethodUniversalIdentity(
      model('CreateAuthMethodUniversalIdentity', { name: '/apps/ack', token: admin }),
    );
    const u0 = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': '/apps/ack', token: admin }),
        )
      ).token,
    );
    const u1 = track(
      (await api.uidRotateToken(model('UidRotateToken', { 'uid-token': u0, 'with-manual-ack': true }))).token,
    );
    // Until the ack, the old token may only retry the rotation: not authenticate.
    await api.uidRotateToken(model('UidRotateToken', { 'uid-token': u0, 'send-manual-ack-token': u1 }));
    const t1 = await api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u1 }));
    expect(track(t1.token)).toMatch(/^t-/);
    expect(
      (await refusal(api.auth(model('Auth', { 'access-type': 'universal_identity', 'uid-token': u0 }))))
        .status,
    ).toBe(401);

    const tree = await api.uidListChildren(
      model('UidListChildren', { 'auth-method-name': '/apps/ack', token: admin }),
    );
    // The reuse above revoked the node; a fresh root for the admin-child case.
    expect(tree.number_of_tokens).toBe(1);
    const root = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': '/apps/ack', token: admin }),
        )
      ).token,
    );
    const rootId = (await api.uidListChildren(model('UidListChildren', { 'uid-token': root }))).root.id;
    const child = track(
      (
        await api.uidCreateChildToken(
          model('UidCreateChildToken', {
            'auth-method-name': '/apps/ack',
            'uid-token-id': rootId,
            'child-ttl': 15,
            token: admin,
          }),
        )
      ).token,
    );
    const mine = await api.uidListChildren(model('UidListChildren', { 'uid-token': root }));
    expect(Object.keys(mine.root.children)).toHaveLength(1);
    expect(child).toMatch(/^u-/);
  });

  it('covers secrets: update (versions), describe, list, delete with recovery', async () => {
    // Values no generated id can contain by chance (the describe answer is checked for them).
    const FIRST = 'first-value:Q9#kz';
    const SECOND = 'second-value:W7#mx';
    await api.createSecret(
      model('CreateSecret', {
        name: '/svc/a/one',
        value: FIRST,
        description: 'first',
        tags: ['x'],
        token: admin,
      }),
    );
    await api.createSecret(
      model('CreateSecret', { name: '/svc/a/two', value: '{"k":1}', format: 'json', token: admin }),
    );
    await api.createSecret(model('CreateSecret', { name: '/svc/b/three', value: 'v', token: admin }));
    await api.updateSecretVal(model('UpdateSecretVal', { name: '/svc/a/one', value: SECOND, token: admin }));
    const latest = await api.getSecretValue(model('GetSecretValue', { names: ['/svc/a/one'], token: admin }));
    expect(latest['/svc/a/one']).toBe(SECOND);
    const first = await api.getSecretValue(
      model('GetSecretValue', { names: ['/svc/a/one'], version: 1, token: admin }),
    );
    expect(first['/svc/a/one']).toBe(FIRST);
    // The largest value the vault takes (64 KiB of UTF-8, JSON-escaped on the wire) goes through.
    const big = '"'.repeat(64 * 1024);
    await api.createSecret(model('CreateSecret', { name: '/svc/big', value: big, token: admin }));
    expect(
      (await api.getSecretValue(model('GetSecretValue', { names: ['/svc/big'], token: admin })))['/svc/big'],
    ).toBe(big);
    const tooBig = await refusal(
      api.createSecret(model('CreateSecret', { name: '/svc/too-big', value: `${big}x`, token: admin })),
    );
    expect(tooBig.status).toBe(413);
    const bad = await refusal(
      api.createSecret(
        model('CreateSecret', { name: '/svc/bad', value: '{nope', format: 'json', token: admin }),
      ),
    );
    expect(bad.status).toBe(400);

    const item = await api.describeItem(
      model('DescribeItem', { name: '/svc/a/one', 'show-versions': true, token: admin }),
    );
    expect(item).toMatchObject({
      item_name: '/svc/a/one',
      item_type: 'STATIC_SECRET',
      last_version: 2,
      item_metadata: 'first',
    });
    expect(item.item_tags).toEqual(['x']);
    expect(item.item_versions.map((v: { version: number }) => v.version).sort()).toEqual([1, 2]);
    expect(item.client_permissions).toEqual(
      expect.arrayContaining(['read', 'list', 'create', 'update', 'delete']),
    );
    expect(JSON.stringify(item)).not.toContain(SECOND);

    const listed = await api.listItems(model('ListItems', { path: '/svc/a', token: admin }));
    expect(listed.items.map((i: { item_name: string }) => i.item_name).sort()).toEqual([
      '/svc/a/one',
      '/svc/a/two',
    ]);

    // The listing is an authorization decision like any read: recorded.
    const events = await s.call('GET', '/v1/audit/events?type=access.granted&resourcePrefix=/svc/a', {
      token: s.adminToken,
    });
    expect(events.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ resource: '/svc/a', data: expect.objectContaining({ action: 'list' }) }),
      ]),
    );

    const deleted = await api.deleteItem(model('DeleteItem', { name: '/svc/a/two', token: admin }));
    expect(deleted.item_name).toBe('/svc/a/two');
    expect(deleted.deletion_date).toBeInstanceOf(Date);
    expect(
      (await refusal(api.getSecretValue(model('GetSecretValue', { names: ['/svc/a/two'], token: admin }))))
        .status,
    ).toBe(404);
    const after = await api.listItems(model('ListItems', { path: '/svc', token: admin }));
    expect(after.items.map((i: { item_name: string }) => i.item_name)).not.toContain('/svc/a/two');
  });

  it('covers roles: rules with ttl, sub-claim associations, delete rule, delete assoc, delete role', async () => {
    await api.createAuthMethodUniversalIdentity(
      model('CreateAuthMethodUniversalIdentity', { name: '/apps/team', token: admin }),
    );
    await api.createSecret(
      model('CreateSecret', { name: '/team/config', value: 'team-value', token: admin }),
    );
    await api.createRole(
      model('CreateRole', { name: 'team-reader', description: 'reads /team', token: admin }),
    );
    await api.setRoleRule(
      model('SetRoleRule', {
        'role-name': 'team-reader',
        path: '/team/*',
        capability: ['read'],
        ttl: 30,
        token: admin,
      }),
    );
    const root = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': '/apps/team', token: admin }),
        )
      ).token,
    );
    const other = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': '/apps/team', token: admin }),
        )
      ).token,
    );
    const rootId = (await api.uidListChildren(model('UidListChildren', { 'uid-token': root }))).root.id;
    // Only sessions from `root`'s subtree get the role.
    const assoc = await api.assocRoleAuthMethod(
      model('AssocRoleAuthMethod', {
        'role-name': 'team-reader',
        'am-name': '/apps/team',
        'sub-claims': { 'uid-subtree': rootId },
        token: admin,
      }),
    );
    const seenFromMethod = await api.getAuthMethod(
      model('GetAuthMethod', { name: '/apps/team', token: admin }),
    );
    expect(seenFromMethod.auth_method_roles_assoc).toEqual([
      expect.objectContaining({
        assoc_id: assoc.assoc_id,
        role_name: 'team-reader',
        auth_method_sub_claims: { 'uid-subtree': [rootId] },
      }),
    ]);
    const role = await api.getRole(model('GetRole', { name: 'team-reader', token: admin }));
    expect(role.rules.path_rules[0]).toMatchObject({
      path: '/team/*',
      capabilities: ['read'],
      type: 'item-rule',
      ttl: 30,
    });
    expect(role.role_auth_methods_assoc[0].auth_method_sub_claims).toEqual({ 'uid-subtree': [rootId] });

    const read = (uidToken: string) =>
      api.getSecretValue(model('GetSecretValue', { names: ['/team/config'], 'uid-token': uidToken }));
    expect((await read(root))['/team/config']).toBe('team-value');
    expect((await refusal(read(other))).status).toBe(403);

    // The rule expires with its ttl (minutes).
    s.clock.advance(31 * 60);
    s.tessera.services.access.invalidate();
    const fresh = track(
      (
        await api.uidGenerateToken(
          model('UidGenerateToken', { 'auth-method-name': '/apps/team', token: admin }),
        )
      ).token,
    );
    expect((await refusal(read(fresh))).status).toBe(403);

    const removed = await api.deleteRoleRule(
      model('DeleteRoleRule', { 'role-name': 'team-reader', path: '/team/*', token: admin }),
    );
    expect(removed.deleted).toBe(true);
    await api.deleteRoleAssociation(
      model('DeleteRoleAssociation', { 'assoc-id': assoc.assoc_id, token: admin }),
    );
    await api.deleteRole(model('DeleteRole', { name: 'team-reader', token: admin }));
    expect((await refusal(api.getRole(model('GetRole', { name: 'team-reader', token: admin })))).status).toBe(
      404,
    );
  });
});

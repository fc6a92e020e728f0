import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

/** DESIGN §2, rule by rule, on every store. */
describe.each(STORES)('Universal Identity on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(async () => {
    await s?.close();
  });

  const rotate = (token: string, body: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/uid/rotate', { token, body });
  const child = (token: string, body: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/uid/children', { token, body });
  const tree = (token: string, query = '') => s.call('GET', `/v1/uid/tree${query}`, { token });
  const revoke = (token: string, body: Record<string, unknown>) =>
    s.call('POST', '/v1/uid/revoke', { token, body });
  const me = (sessionToken: string) => s.call('GET', '/v1/uid/tree', { token: sessionToken });

  it('generates a root token with a checksum, stored only as a hash', async () => {
    const { root, method } = await uidSetup(s, { ttlSeconds: 3600 });
    expect(root.token).toMatch(/^u-[A-Za-z0-9_-]{49}$/);
    expect(Date.parse(root.expiresAt)).toBe(s.clock.ms + 3600_000);
    const rows = await s.tessera.store.db.selectFrom('uid_credentials').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(root.token);
    expect(dump).not.toContain(root.token.slice(2, 30));
    const auth = await uidAuth(s, root.token);
    expect(auth.status).toBe(200);
    expect(auth.body.authMethodId).toBe(method.id);
    expect(auth.body.uidTokenId).toBe(root.tokenId);
  });

  it('refuses malformed, unknown and checksum-broken tokens identically', async () => {
    const { root } = await uidSetup(s);
    const flipped = root.token.slice(0, -1) + (root.token.endsWith('A') ? 'B' : 'A');
    const answers = await Promise.all([
      uidAuth(s, 'u-nope'),
      uidAuth(s, flipped),
      uidAuth(s, `u-${'A'.repeat(49)}`),
    ]);
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.body.error.code).toBe('TESSERA_AUTH_FAILED');
      expect(a.body.error.message).toBe(answers[0]!.body.error.message);
    }
  });

  it('rotates: same node, TTL reset, children untouched; the old token only retries the rotation', async () => {
    const { root } = await uidSetup(s, { ttlSeconds: 3600 });
    const kid = await child(root.token, { ttlSeconds: 7200 });
    expect(kid.status).toBe(201);
    s.clock.advance(1800);
    const r = await rotate(root.token);
    expect(r.status).toBe(200);
    expect(r.body.tokenId).toBe(root.tokenId);
    expect(r.body.token).not.toBe(root.token);
    expect(Date.parse(r.body.expiresAt)).toBe(s.clock.ms + 3600_000);
    // Mid-rotation, the old token may not be used for anything but retrying the rotation.
    expect((await uidAuth(s, root.token)).status).toBe(401);
    expect((await uidAuth(s, r.body.token)).status).toBe(200);
    expect((await uidAuth(s, kid.body.token)).status).toBe(200);
    const t = await tree(r.body.token);
    expect(t.body.roots[0].id).toBe(root.tokenId);
    expect(t.body.roots[0].children.map((c: { id: string }) => c.id)).toEqual([kid.body.tokenId]);
    expect(t.body.roots[0].lastRotatedAt).toBe(new Date(s.clock.ms).toISOString());
  });

  it('detects reuse of a rotated-away token and revokes the subtree and its sessions (default policy)', async () => {
    const { root } = await uidSetup(s);
    const kid = await child(root.token, { ttlSeconds: 600 });
    const kidSession = (await uidAuth(s, kid.body.token)).body.token;
    expect((await me(kidSession)).status).toBe(200);
    const r = await rotate(root.token);
    expect((await uidAuth(s, r.body.token)).status).toBe(200); // successor used
    const reuse = await uidAuth(s, root.token);
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('TESSERA_AUTH_FAILED');
    // The whole subtree is revoked: the thief's and the holder's tokens alike, and derived sessions.
    expect((await uidAuth(s, r.body.token)).status).toBe(401);
    expect((await uidAuth(s, kid.body.token)).status).toBe(401);
    const after = await me(kidSession);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'uid.token.reuse_detected')
      .execute();
    expect(
      events.some(
        (e) => JSON.parse(e.data).nodeId === root.tokenId && JSON.parse(e.data).policy === 'revoke',
      ),
    ).toBe(true);
  });

  it('only flags the node under the flag policy', async () => {
    const { root, methodName } = await uidSetup(s, { reusePolicy: 'flag' });
    const r = await rotate(root.token);
    expect((await uidAuth(s, r.body.token)).status).toBe(200);
    expect((await uidAuth(s, root.token)).status).toBe(401);
    expect((await uidAuth(s, r.body.token)).status).toBe(200);
    const t = await s.call('GET', `/v1/uid/tree?authMethodName=${methodName}`, { token: s.adminToken });
    expect(t.body.roots[0].flagged).toBe(true);
    expect(t.body.roots[0].revoked).toBe(false);
  });

  it('survives a lost rotation response: a retry replaces the unseen token, whose later use is reuse', async () => {
    const { root } = await uidSetup(s);
    const lost = await rotate(root.token);
    expect(lost.status).toBe(200);
    s.clock.advance(2);
    const retry = await rotate(root.token);
    expect(retry.status).toBe(200);
    expect((await uidAuth(s, retry.body.token)).status).toBe(200);
    // Whoever holds the response the client never saw is not the client.
    expect((await uidAuth(s, lost.body.token)).status).toBe(401);
    expect((await uidAuth(s, retry.body.token)).status).toBe(401);
  });

  it('stops the old token when the grace window passes unused; the new token still works', async () => {
    const { root } = await uidSetup(s, { rotationGraceSeconds: 60 });
    const r = await rotate(root.token);
    s.clock.advance(61);
    expect((await rotate(root.token)).status).toBe(401);
    expect((await uidAuth(s, r.body.token)).status).toBe(200);
  });

  it('supports manual acknowledgement: the old token works until the ack', async () => {
    const { root } = await uidSetup(s);
    const r = await rotate(root.token, { manualAck: true });
    expect(r.body.pendingAck).toBe(true);
    expect((await uidAuth(s, root.token)).status).toBe(200);
    const ack = await s.call('POST', '/v1/uid/rotate/ack', {
      token: root.token,
      body: { newToken: r.body.token },
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toEqual({ tokenId: root.tokenId, acknowledged: true });
    expect((await uidAuth(s, r.body.token)).status).toBe(200);
    expect((await uidAuth(s, root.token)).status).toBe(401); // reuse now
  });

  it('refuses an ack with a token that is not the pending successor', async () => {
    const { root } = await uidSetup(s);
    const other = await uidSetup(s);
    await rotate(root.token, { manualAck: true });
    const ack = await s.call('POST', '/v1/uid/rotate/ack', {
      token: root.token,
      body: { newToken: other.root.token },
    });
    expect(ack.status).toBe(401);
  });

  it('lets exactly one of concurrent rotations of the same token win', async () => {
    const { root } = await uidSetup(s);
    const results = await Promise.all(Array.from({ length: 6 }, () => rotate(root.token)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('TESSERA_ROTATION_CONFLICT');
    }
    expect((await uidAuth(s, ok[0]!.body.token)).status).toBe(200);
  });

  it('admits only the UID token itself to rotation and its ack', async () => {
    const { root } = await uidSetup(s);
    const session = (await uidAuth(s, root.token)).body.token;
    for (const token of [s.adminToken, session]) {
      const r = await rotate(token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('TESSERA_UNAUTHENTICATED');
      const ack = await s.call('POST', '/v1/uid/rotate/ack', { token, body: { newToken: root.token } });
      expect(ack.status).toBe(401);
    }
    expect((await uidAuth(s, root.token)).status).toBe(200);
  });

  it('refuses rotation under deny-rotate', async () => {
    const { root } = await uidSetup(s, { denyRotate: true });
    const r = await rotate(root.token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('TESSERA_UID_ROTATION_DENIED');
    expect((await uidAuth(s, root.token)).status).toBe(200);
  });

  it('bounds child TTL by the limit and depth by the tree length; deny-inheritance refuses children', async () => {
    const { root } = await uidSetup(s, { childTtlLimitSeconds: 3600, treeLength: 2 });
    const tooLong = await child(root.token, { ttlSeconds: 3601 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('TESSERA_UID_TTL_LIMIT');
    const kid = await child(root.token, { ttlSeconds: 3600 });
    expect(kid.status).toBe(201);
    expect(kid.body.depth).toBe(2);
    const grandkid = await child(kid.body.token, { ttlSeconds: 60 });
    expect(grandkid.status).toBe(400);
    expect(grandkid.body.error.code).toBe('TESSERA_UID_DEPTH_LIMIT');
    const sealed = await child(root.token, { ttlSeconds: 600, denyInheritance: true });
    const refused = await child(sealed.body.token, { ttlSeconds: 60 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('TESSERA_UID_INHERITANCE_DENIED');
  });

  it('gives children their own TTLs, larger than the parent if the limit allows (seed hierarchy)', async () => {
    const { root } = await uidSetup(s, { ttlSeconds: 3600, childTtlLimitSeconds: 8 * 3600 });
    const ttls = [480, 240, 60].map((m) => m * 60);
    const kids = await Promise.all(ttls.map((ttlSeconds) => child(root.token, { ttlSeconds })));
    expect(kids.map((k) => k.body.ttlSeconds)).toEqual(ttls);
    const t = await tree(root.token);
    expect(t.body.numberOfTokens).toBe(4);
    expect(t.body.maxDepth).toBe(2);
  });

  it('revokeSelf revokes one node and re-attaches its children to its parent', async () => {
    const { root } = await uidSetup(s);
    const mid = await child(root.token, { ttlSeconds: 600 });
    const leaf = await child(mid.body.token, { ttlSeconds: 600 });
    const deep = await child(leaf.body.token, { ttlSeconds: 600 });
    const midSession = (await uidAuth(s, mid.body.token)).body.token;
    const leafSession = (await uidAuth(s, leaf.body.token)).body.token;
    const r = await revoke(root.token, { tokenId: mid.body.tokenId, type: 'self' });
    expect(r.status).toBe(200);
    expect(r.body.revokedCount).toBe(1);
    expect((await uidAuth(s, mid.body.token)).status).toBe(401);
    expect((await me(midSession)).status).toBe(401);
    expect((await me(leafSession)).status).toBe(200);
    expect((await uidAuth(s, leaf.body.token)).status).toBe(200);
    const t = await tree(root.token);
    const rootNode = t.body.roots[0];
    const ids = rootNode.children.map((c: { id: string }) => c.id).sort();
    expect(ids).toEqual([leaf.body.tokenId, mid.body.tokenId].sort());
    const leafNode = rootNode.children.find((c: { id: string }) => c.id === leaf.body.tokenId);
    expect(leafNode.depth).toBe(2);
    expect(leafNode.parentId).toBe(root.tokenId);
    expect(leafNode.children[0].id).toBe(deep.body.tokenId);
    expect(leafNode.children[0].depth).toBe(3);
    expect(rootNode.children.find((c: { id: string }) => c.id === mid.body.tokenId).revoked).toBe(true);
    // A later revokeAll of the root still reaches the re-attached nodes.
    await revoke(root.token, { type: 'all' });
    expect((await uidAuth(s, deep.body.token)).status).toBe(401);
    expect((await me(leafSession)).status).toBe(401);
  });

  it('revokeAll revokes the whole subtree and every derived session token at once', async () => {
    const { root, methodName } = await uidSetup(s);
    const a = await child(root.token, { ttlSeconds: 600 });
    const b = await child(a.body.token, { ttlSeconds: 600 });
    const sibling = await child(root.token, { ttlSeconds: 600 });
    const bSession = (await uidAuth(s, b.body.token)).body.token;
    const r = await s.call('POST', '/v1/uid/revoke', {
      token: s.adminToken,
      body: { authMethodName: methodName, token: a.body.token, type: 'all' },
    });
    expect(r.status).toBe(200);
    expect(r.body.revokedCount).toBe(2);
    expect((await uidAuth(s, a.body.token)).status).toBe(401);
    expect((await uidAuth(s, b.body.token)).status).toBe(401);
    expect((await me(bSession)).body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    expect((await uidAuth(s, sibling.body.token)).status).toBe(200);
  });

  it('keeps holders inside their own subtree', async () => {
    const { root } = await uidSetup(s);
    const a = await child(root.token, { ttlSeconds: 600 });
    const b = await child(root.token, { ttlSeconds: 600 });
    const r = await revoke(a.body.token, { tokenId: b.body.tokenId, type: 'all' });
    expect(r.status).toBe(404);
    expect((await uidAuth(s, b.body.token)).status).toBe(200);
    const t = await tree(a.body.token);
    expect(t.body.roots.map((n: { id: string }) => n.id)).toEqual([a.body.tokenId]);
    const other = await tree(a.body.token, `?tokenId=${root.tokenId}`);
    expect(other.status).toBe(404);
  });

  it('expires nodes whose TTL passes without rotation; session tokens never outlive their node', async () => {
    const { root } = await uidSetup(s, { ttlSeconds: 600, jwtTtlSeconds: 3600 });
    const session = await uidAuth(s, root.token);
    expect(session.body.expiresIn).toBe(600);
    s.clock.advance(599);
    expect((await me(session.body.token)).status).toBe(200);
    s.clock.advance(2);
    expect((await uidAuth(s, root.token)).status).toBe(401);
    const expired = await me(session.body.token);
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('TESSERA_TOKEN_EXPIRED');
    expect((await rotate(root.token)).status).toBe(401);
  });

  it('binds the access id when one is given', async () => {
    const { root, method } = await uidSetup(s);
    const other = await uidSetup(s);
    const wrong = await s.call('POST', '/v1/auth', {
      body: { accessType: 'universal_identity', uidToken: root.token, accessId: other.method.id },
    });
    expect(wrong.status).toBe(401);
    const right = await s.call('POST', '/v1/auth', {
      body: { accessType: 'universal_identity', uidToken: root.token, accessId: method.id },
    });
    expect(right.status).toBe(200);
  });

  it('refuses tokens outside the bound CIDRs and after the method expires', async () => {
    const bound = await uidSetup(s, { boundCidrs: ['10.0.0.0/8'] });
    expect((await uidAuth(s, bound.root.token)).status).toBe(401); // inject comes from 127.0.0.1
    const expiring = await uidSetup(s, { expiresAt: new Date(s.clock.ms + 60_000).toISOString() });
    expect((await uidAuth(s, expiring.root.token)).status).toBe(200);
    s.clock.advance(61);
    expect((await uidAuth(s, expiring.root.token)).status).toBe(401);
  });

  it('applies a change to the method at once (bound CIDRs narrowed after use)', async () => {
    const { root, method } = await uidSetup(s);
    expect((await uidAuth(s, root.token)).status).toBe(200);
    const narrowed = await s.call('PATCH', `/v1/auth-methods/${method.id}`, {
      token: s.adminToken,
      body: { boundCidrs: ['10.0.0.0/8'] },
    });
    expect(narrowed.status).toBe(200);
    expect((await uidAuth(s, root.token)).status).toBe(401);
    await s.call('PATCH', `/v1/auth-methods/${method.id}`, { token: s.adminToken, body: { boundCidrs: [] } });
    expect((await uidAuth(s, root.token)).status).toBe(200);
  });

  it('deleting the method revokes its tokens and sessions', async () => {
    const { root, method } = await uidSetup(s);
    const session = (await uidAuth(s, root.token)).body.token;
    const del = await s.call('DELETE', `/v1/auth-methods/${method.id}`, { token: s.adminToken });
    expect(del.status).toBe(204);
    expect((await uidAuth(s, root.token)).status).toBe(401);
    expect((await me(session)).status).toBe(401);
  });

  it('revokes a 2,000-node subtree with one statement', async () => {
    const { root, method } = await uidSetup(s, { treeLength: 4 });
    const now = s.clock.ms;
    const rootNode = await s.tessera.store.db
      .selectFrom('uid_nodes')
      .selectAll()
      .where('id', '=', root.tokenId)
      .executeTakeFirstOrThrow();
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      ...rootNode,
      id: `bulk${i.toString().padStart(6, '0')}`,
      parent_id: root.tokenId,
      path: `${rootNode.path}bulk${i.toString().padStart(6, '0')}/`,
      depth: 2,
      created_at: now,
    }));
    for (let i = 0; i < rows.length; i += 200)
      await s.tessera.store.db
        .insertInto('uid_nodes')
        .values(rows.slice(i, i + 200))
        .execute();
    const r = await s.call('POST', '/v1/uid/revoke', {
      token: s.adminToken,
      body: { authMethodId: method.id, tokenId: root.tokenId, type: 'all' },
    });
    expect(r.body.revokedCount).toBe(2001);
    const alive = await s.tessera.store.db
      .selectFrom('uid_nodes')
      .select('id')
      .where('method_id', '=', method.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(alive).toHaveLength(0);
  });
});

/**
 * Creating a child is a way to persist a stolen UID token (issue 10): a child's TTL does not depend
 * on its parent's, and minting one never meets reuse detection. Child TTLs stay independent (the
 * seed's 480-minute child under a 60-minute parent), but the number of live children per node is
 * limited, the creating credential is recorded in the tree and the audit event, and unusual child
 * creation raises an alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildBurstState, unusualChildAlerts } from '../src/core/alerts/alert.rules.js';
import type { StoredAuditEvent } from '../src/core/audit/audit.model.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { STORES, startTestServer, type TestServer, uidSetup } from './harness.js';

const child = (s: TestServer, token: string, body: Record<string, unknown> = {}) =>
  s.call('POST', '/v1/uid/children', { token, body });

describe.each(STORES)('UID child creation on %s', (store) => {
  let s: TestServer;
  let hook: WebhookReceiver;
  const bodies: string[] = [];
  beforeAll(async () => {
    hook = await startWebhookReceiver(bodies);
    s = await startTestServer(store, {
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/slack'),
      TESSERA_ALERT_DEDUPE_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
  });

  /** Alerts of `rule` for `parentId` delivered so far (waits up to 3 s for at least `min`). */
  async function alertsFor(parentId: string, reason: string, min = 1) {
    const end = Date.now() + 3_000;
    const matching = () =>
      bodies
        .map((b) => JSON.parse(b))
        .filter(
          (a) =>
            a.alert?.rule === 'uid_child_unusual' &&
            a.alert?.fields?.parentId === parentId &&
            a.alert?.fields?.reason === reason,
        );
    while (matching().length < min && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return matching();
  }

  it('child TTLs stay independent of the parent: a 480-minute child under a 60-minute parent', async () => {
    const { root } = await uidSetup(s, { ttlSeconds: 3600 });
    const c = await child(s, root.token, { ttlSeconds: 480 * 60 });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.ttlSeconds).toBe(480 * 60);
  });

  it('auth-method get shows the child TTL limit and the child count limit (default 100)', async () => {
    const { method } = await uidSetup(s);
    const got = await s.call('GET', `/v1/auth-methods/${method.id}`, { token: s.adminToken });
    expect(got.body.authMethod?.universalIdentity ?? got.body.universalIdentity).toMatchObject({
      childTtlLimitSeconds: 86_400,
      childCountLimit: 100,
    });
  });

  it('a node may have at most childCountLimit live children (409 TESSERA_UID_CHILD_LIMIT)', async () => {
    const { root, methodName } = await uidSetup(s, { childCountLimit: 3 });
    const made = [];
    for (let i = 0; i < 3; i++) {
      const c = await child(s, root.token);
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      made.push(c.body);
    }
    const refused = await child(s, root.token);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TESSERA_UID_CHILD_LIMIT');
    expect(refused.body.error.details).toEqual({ childCountLimit: 3 });
    // The administrator naming the parent meets the same limit.
    const byAdmin = await child(s, s.adminToken, { authMethodName: methodName, parentTokenId: root.tokenId });
    expect(byAdmin.status).toBe(409);
    // A revoked child no longer counts.
    const revoked = await s.call('POST', '/v1/uid/revoke', {
      token: s.adminToken,
      body: { authMethodName: methodName, tokenId: made[0].tokenId, type: 'all' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBeLessThan(300);
    expect((await child(s, root.token)).status).toBe(201);
    expect((await child(s, root.token)).status).toBe(409);
  });

  it('the tree and the audit event name the credential that created each child', async () => {
    const { root, methodName } = await uidSetup(s);
    const byHolder = await child(s, root.token);
    const byAdmin = await child(s, s.adminToken, { authMethodName: methodName, parentTokenId: root.tokenId });
    expect(byAdmin.status, JSON.stringify(byAdmin.body)).toBe(201);
    const tree = await s.call('GET', `/v1/uid/tree?authMethodName=${encodeURIComponent(methodName)}`, {
      token: s.adminToken,
    });
    expect(tree.status, JSON.stringify(tree.body)).toBe(200);
    const rootNode = tree.body.roots[0];
    expect(rootNode.createdBy).toMatchObject({ kind: 'admin', identityId: expect.any(String) });
    const children = Object.fromEntries(rootNode.children.map((c: { id: string }) => [c.id, c]));
    const holderCreated = children[byHolder.body.tokenId].createdBy;
    expect(holderCreated).toMatchObject({ kind: 'holder', nodeId: root.tokenId, generation: 1 });
    expect(holderCreated.credentialRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(children[byAdmin.body.tokenId].createdBy).toMatchObject({
      kind: 'admin',
      sessionId: expect.any(String),
    });
    expect(JSON.stringify(tree.body)).not.toContain(root.token);

    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'uid.token.child_created')
      .orderBy('seq')
      .execute();
    const ofHolder = events.find((e) => JSON.parse(e.data).nodeId === byHolder.body.tokenId)!;
    expect(JSON.parse(ofHolder.data).createdBy).toEqual(holderCreated);
    expect(JSON.parse(ofHolder.actor).credentialRef).toBe(holderCreated.credentialRef);
  });

  it('alerts on a first child, on a burst of children, and on a child made close to the parent’s expiry', async () => {
    const { root } = await uidSetup(s, { ttlSeconds: 3600 });
    expect((await child(s, root.token)).status).toBe(201);
    const [first] = await alertsFor(root.tokenId, 'first_child');
    expect(first.alert).toMatchObject({ rule: 'uid_child_unusual', severity: 'info' });
    expect(first.alert.fields).toMatchObject({ createdByKind: 'holder', parentId: root.tokenId });
    // Four more within the window: the fifth child of one parent is a burst (default 5 in 600 s).
    for (let i = 0; i < 4; i++) expect((await child(s, root.token)).status).toBe(201);
    const [burst] = await alertsFor(root.tokenId, 'burst');
    expect(burst.alert.fields).toMatchObject({ children: 5 });

    // A stolen token a few minutes from expiry leaves a day-long child behind: that is loud too.
    const other = await uidSetup(s, { ttlSeconds: 3600 });
    s.clock.advance(3600 - 120);
    const late = await child(s, other.root.token, { ttlSeconds: 86_400 });
    expect(late.status, JSON.stringify(late.body)).toBe(201);
    const [nearExpiry] = await alertsFor(other.root.tokenId, 'parent_near_expiry');
    expect(nearExpiry.alert.severity).toBe('warning');
    expect(nearExpiry.alert.fields).toMatchObject({ parentRemainingSeconds: 120, childTtlSeconds: 86_400 });
    for (const b of bodies) {
      expect(b).not.toContain(root.token);
      expect(b).not.toContain(other.root.token);
    }
  });
});

describe('the uid_child_unusual rule (pure)', () => {
  const event = (seq: number, data: Record<string, unknown>): StoredAuditEvent => ({
    seq,
    id: `ev-${seq}`,
    atMs: 1_000_000 + seq * 1000,
    type: 'uid.token.child_created',
    outcome: 'success',
    actor: { uidNodeId: 'p1', credentialRef: 'hmac-sha256:ab' },
    resource: '/auth-methods/m/uid/c',
    reason: null,
    requestId: null,
    sourceIp: '10.0.0.1',
    data: { parentId: 'p1', nodeId: `c${seq}`, ttlSeconds: 86_400, parentTtlSeconds: 3600, ...data },
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
  });
  const t = { burst: 3, windowMs: 10_000, expiryPercent: 10 };

  it('first child, burst within the window, parent within expiryPercent of its TTL; nothing else', () => {
    const state: ChildBurstState = new Map();
    const reasons = (e: StoredAuditEvent) => unusualChildAlerts(state, e, t).map((a) => a.fields.reason);
    expect(reasons(event(1, { firstChild: true, parentRemainingSeconds: 3000 }))).toEqual(['first_child']);
    expect(reasons(event(2, { firstChild: false, parentRemainingSeconds: 361 }))).toEqual([]);
    expect(reasons(event(3, { firstChild: false, parentRemainingSeconds: 360 }))).toEqual([
      'parent_near_expiry',
      'burst',
    ]);
    // The burst window starts over; children outside the window do not count.
    expect(reasons(event(30, { firstChild: false, parentRemainingSeconds: 3000 }))).toEqual([]);
    expect(reasons(event(31, { firstChild: false, parentRemainingSeconds: 3000 }))).toEqual([]);
    expect(reasons(event(45, { firstChild: false, parentRemainingSeconds: 3000 }))).toEqual([]);
    // Failed creations and other events never alert.
    expect(unusualChildAlerts(state, { ...event(46, { firstChild: true }), outcome: 'denied' }, t)).toEqual(
      [],
    );
    expect(
      unusualChildAlerts(state, { ...event(47, { firstChild: true }), type: 'uid.token.rotated' }, t),
    ).toEqual([]);
  });
});

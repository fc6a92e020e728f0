import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalAction, Decider } from '../src/capabilities/approvals/approvals.model.js';
import type { ApprovalsAdmin } from '../src/capabilities/approvals/approvals.service.js';
import { systemContext } from '../src/core/shared/context.js';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import {
  type ServerPair,
  STORES,
  startServerPair,
  startTestServer,
  type TestServer,
  uidAuth,
  uidSetup,
} from './harness.js';

const suffix = () => Math.random().toString(36).slice(2, 8);
const person = (id: string, email: string, groups: string[] = []): Decider => ({
  ref: `person:${id}`,
  names: [`person:${id}`, `person:${email}`],
  groups,
  admin: false,
});
const ctx = systemContext('test');

describe.each(STORES)('approvals on %s', (store) => {
  let s: TestServer;
  let approvals: ApprovalsAdmin;
  let hook: WebhookReceiver;
  const received: any[] = [];
  let identityId: string;
  let agentToken: string;
  const alice = person('h-alice', 'alice@example.com', ['ops']);
  const bob = person('h-bob', 'bob@example.com', ['ops']);
  const carol = person('h-carol', 'carol@example.com', ['ops', 'sec']);
  const mallory = person('h-mallory', 'mallory@example.com', ['dev']);
  const jit = (roleName = 'db-admin'): ApprovalAction => ({
    kind: 'jit.elevate',
    identityId,
    roleName,
    durationSec: 600,
  });

  beforeAll(async () => {
    hook = await startWebhookReceiver((body) => received.push(JSON.parse(body)));
    s = await startTestServer(store, { TESSERA_APPROVAL_WEBHOOK_URL: hook.url('/hook') });
    approvals = (s.tessera.services as unknown as { approvals: ApprovalsAdmin }).approvals;
    const { method, root } = await uidSetup(
      s,
      { owner: 'person:alice@example.com' },
      `/agents/a-${suffix()}`,
    );
    identityId = method.identityId;
    const auth = await uidAuth(s, root.token);
    agentToken = auth.body.token;
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
  });

  const requestJit = (action = jit()) =>
    approvals.request(
      {
        requester: { kind: 'identity', id: identityId, name: 'agent' },
        action,
        justification: 'incident 42',
        approvers: { kind: 'owner', ownerOf: identityId },
      },
      ctx,
    );

  it('a request is pending, announced to the webhook with approve/deny links, and audited', async () => {
    const a = await requestJit();
    expect(a.status).toBe('pending');
    expect(a.id).toMatch(/^apr-/);
    for (let i = 0; i < 100 && !received.some((m) => m.approval?.id === a.id); i++)
      await new Promise((r) => setTimeout(r, 20));
    const message = received.find((m) => m.approval?.id === a.id);
    expect(message.text).toContain('db-admin');
    const buttons = message.blocks.find((b: any) => b.type === 'actions').elements;
    expect(buttons.map((b: any) => b.url)).toEqual([
      `http://tessera.test/ui/approvals/${a.id}?decision=approve`,
      `http://tessera.test/ui/approvals/${a.id}?decision=deny`,
    ]);
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'approval.requested')
      .where('resource', '=', `/approvals/${a.id}`)
      .execute();
    expect(events).toHaveLength(1);
  });

  it('the owner approves; the grant is used once, only for exactly that action', async () => {
    const a = await requestJit();
    expect((await approvals.consume(a.id, jit())).ok).toBe(false);
    expect(await approvals.consume(a.id, jit())).toEqual({ ok: false, reason: 'pending' });
    await expect(approvals.decide(a.id, mallory, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_NOT_APPROVER',
    });
    const approved = await approvals.decide(a.id, alice, 'approve', 'ok', ctx);
    expect(approved.status).toBe('approved');
    expect(approved.grantExpiresAt).not.toBeNull();
    // Another role, another duration: a mismatch, and the grant survives it.
    expect(await approvals.consume(a.id, jit('root'))).toEqual({ ok: false, reason: 'mismatch' });
    expect(await approvals.consume(a.id, { ...jit(), durationSec: 601 } as ApprovalAction)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    // Key order does not matter: deep equality.
    const reordered = { durationSec: 600, roleName: 'db-admin', identityId, kind: 'jit.elevate' } as const;
    expect(await approvals.consume(a.id, reordered)).toEqual({ ok: true });
    expect(await approvals.consume(a.id, jit())).toEqual({ ok: false, reason: 'used' });
    expect((await approvals.get(a.id))?.status).toBe('used');
    expect(await approvals.consume('apr-nope', jit())).toEqual({ ok: false, reason: 'not_found' });
    const types = (
      await s.tessera.store.db
        .selectFrom('audit_events')
        .select(['type', 'data'])
        .where('resource', '=', `/approvals/${a.id}`)
        .orderBy('seq')
        .execute()
    ).map((e) => ({ type: e.type, data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data }));
    expect(types.map((t) => t.type)).toEqual([
      'approval.requested',
      'approval.use_refused',
      'approval.use_refused',
      'approval.decision_refused',
      'approval.decided',
      'approval.use_refused',
      'approval.use_refused',
      'approval.used',
      'approval.use_refused',
    ]);
    const decided = types.find((t) => t.type === 'approval.decided')!.data;
    expect(decided).toMatchObject({ requester: `identity:${identityId}`, approver: 'person:h-alice' });
    expect(decided.action).toEqual(jit());
    expect(types.find((t) => t.type === 'approval.used')!.data.approvedBy).toEqual(['person:h-alice']);
  });

  it('self-approval is refused', async () => {
    const a = await approvals.request(
      {
        requester: { kind: 'person', id: 'h-carol', name: 'carol@example.com' },
        action: { kind: 'secret.read', path: '/prod/db' },
        justification: 'migration',
        approvers: { kind: 'group', group: 'sec' },
      },
      ctx,
    );
    await expect(approvals.decide(a.id, carol, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_SELF',
      details: { reason: 'approval_self' },
    });
    expect((await approvals.get(a.id))?.status).toBe('pending');
  });

  it('N of M needs N distinct people; a deny closes the request', async () => {
    const a = await approvals.request(
      {
        requester: { kind: 'identity', id: identityId, name: 'agent' },
        action: { kind: 'mcp.tool_call', server: 'github', tool: 'merge', argumentsHash: 'abc' },
        justification: 'release',
        approvers: { kind: 'group', group: 'ops', required: 2 },
      },
      ctx,
    );
    expect((await approvals.decide(a.id, alice, 'approve', undefined, ctx)).status).toBe('pending');
    await expect(approvals.decide(a.id, alice, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_CLOSED',
    });
    await expect(approvals.decide(a.id, mallory, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_NOT_APPROVER',
    });
    expect((await approvals.decide(a.id, bob, 'approve', undefined, ctx)).status).toBe('approved');

    const d = await approvals.request(
      {
        requester: { kind: 'identity', id: identityId, name: 'agent' },
        action: { kind: 'secret.read', path: '/x' },
        justification: 'why not',
        approvers: { kind: 'group', group: 'ops', required: 2 },
      },
      ctx,
    );
    expect((await approvals.decide(d.id, alice, 'deny', 'no', ctx)).status).toBe('denied');
    await expect(approvals.decide(d.id, bob, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_CLOSED',
    });
    expect(await approvals.consume(d.id, { kind: 'secret.read', path: '/x' })).toEqual({
      ok: false,
      reason: 'denied',
    });
  });

  it('an expired request cannot be decided; an unused grant expires; both are audited', async () => {
    const a = await approvals.request(
      {
        requester: { kind: 'identity', id: identityId, name: 'agent' },
        action: jit('short'),
        justification: 'quick',
        approvers: { kind: 'owner', ownerOf: identityId },
        ttlSec: 60,
      },
      ctx,
    );
    const b = await requestJit(jit('grant-expiry'));
    await approvals.decide(b.id, alice, 'approve', undefined, ctx);
    s.clock.advance(61);
    await expect(approvals.decide(a.id, alice, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_CLOSED',
    });
    expect((await approvals.get(a.id))?.status).toBe('expired');
    s.clock.advance(300);
    expect(await approvals.consume(b.id, jit('grant-expiry'))).toEqual({ ok: false, reason: 'expired' });
    expect(await approvals.expireDue()).toBeGreaterThanOrEqual(2);
    const expired = await s.tessera.store.db
      .selectFrom('audit_events')
      .select('resource')
      .where('type', '=', 'approval.expired')
      .execute();
    expect(expired.map((e) => e.resource)).toEqual(
      expect.arrayContaining([`/approvals/${a.id}`, `/approvals/${b.id}`]),
    );
  });

  it('reusePending: concurrent requests for one operation share one pending request until it is decided or expires (ADR 0051)', async () => {
    const ask = (roleName: string, ttlSec?: number) =>
      approvals.request(
        {
          requester: { kind: 'identity', id: identityId, name: 'agent' },
          action: jit(roleName),
          justification: 'retry',
          approvers: { kind: 'owner', ownerOf: identityId },
          reusePending: true,
          ...(ttlSec ? { ttlSec } : {}),
        },
        ctx,
      );
    const requested = async (id: string) =>
      (
        await s.tessera.store.db
          .selectFrom('audit_events')
          .select('resource')
          .where('type', '=', 'approval.requested')
          .where('resource', '=', `/approvals/${id}`)
          .execute()
      ).length;
    const raced = await Promise.all(Array.from({ length: 10 }, () => ask('reuse')));
    expect(new Set(raced.map((a) => a.id)).size).toBe(1);
    expect(raced.every((a) => a.status === 'pending')).toBe(true);
    expect(await requested(raced[0]!.id)).toBe(1);
    // Without reusePending, requests are as before: each opens its own.
    expect((await requestJit(jit('reuse'))).id).not.toBe(raced[0]!.id);
    // Another action has its own key.
    expect((await ask('reuse-other')).id).not.toBe(raced[0]!.id);

    // Decided: the key is released, the next request is a new one.
    await approvals.decide(raced[0]!.id, alice, 'deny', undefined, ctx);
    const next = await ask('reuse');
    expect(next.id).not.toBe(raced[0]!.id);
    expect(await ask('reuse')).toMatchObject({ id: next.id, status: 'pending' });

    // Expired but not yet marked so (the expiry job has not run): a new request replaces it.
    const short = await ask('reuse-short', 60);
    s.clock.advance(61);
    const fresh = await ask('reuse-short', 60);
    expect(fresh.id).not.toBe(short.id);
    expect(fresh.status).toBe('pending');
    expect((await approvals.get(short.id))?.status).toBe('expired');
  });

  it('a grant consumed by 20 concurrent callers is used exactly once', async () => {
    const a = await requestJit(jit('race'));
    await approvals.decide(a.id, alice, 'approve', undefined, ctx);
    const results = await Promise.all(Array.from({ length: 20 }, () => approvals.consume(a.id, jit('race'))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === 'used')).toHaveLength(19);
  });

  it('REST: an agent asks, its owner is the default approver, self-approval is refused, an admin approves', async () => {
    const created = await s.call('POST', '/v1/approvals', {
      token: agentToken,
      body: { action: jit('rest'), justification: 'deploy' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.approvers).toEqual({ kind: 'owner', ownerOf: identityId });
    expect(created.body.requester).toMatchObject({ kind: 'identity', id: identityId });
    const id = created.body.id;
    const mine = await s.call('GET', '/v1/approvals?mine=true&status=pending', { token: agentToken });
    expect(mine.body.items.map((a: any) => a.id)).toContain(id);
    const self = await s.call('POST', `/v1/approvals/${id}/approve`, { token: agentToken, body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('TESSERA_APPROVAL_SELF');
    const bad = await s.call('POST', `/v1/approvals/${id}/approve`, {
      token: s.adminToken,
      body: { comment: 'x'.repeat(1001) },
    });
    expect(bad.status).toBe(400);
    const ok = await s.call('POST', `/v1/approvals/${id}/approve`, { token: s.adminToken, body: {} });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.status).toBe('approved');
    const again = await s.call('POST', `/v1/approvals/${id}/deny`, { token: s.adminToken });
    expect(again.status).toBe(409);
    expect((await s.call('GET', `/v1/approvals/${id}`, { token: agentToken })).body.status).toBe('approved');
    expect((await s.call('GET', '/v1/approvals/apr-missing', { token: agentToken })).status).toBe(404);
    const all = await s.call('GET', '/v1/approvals', { token: s.adminToken });
    expect(all.body.items.length).toBeGreaterThan(3);
    const unauth = await s.call('GET', '/v1/approvals');
    expect(unauth.status).toBe(401);
    const badAction = await s.call('POST', '/v1/approvals', {
      token: agentToken,
      body: { action: { kind: 'launch.missiles' }, justification: 'x' },
    });
    expect(badAction.status).toBe(400);
  });

  it('holds every approval.* event of this file to the catalogue, and emits each type', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'approval.');
  });
});

describe('approvals on two servers on one PostgreSQL database', () => {
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

  it('a grant raced by both servers is used exactly once', async () => {
    const svc = (t: TestServer) => (t.tessera.services as unknown as { approvals: ApprovalsAdmin }).approvals;
    const { method } = await uidSetup(a, { owner: 'group:ops' }, `/agents/race-${suffix()}`);
    for (let round = 0; round < 5; round++) {
      const action: ApprovalAction = { kind: 'secret.read', path: `/prod/race/${round}` };
      const req = await svc(a).request({
        requester: { kind: 'identity', id: method.identityId, name: 'racer' },
        action,
        justification: 'race',
        approvers: { kind: 'owner', ownerOf: method.identityId },
      });
      // Decided on B (the group owner), consumed on both at once.
      await svc(b).decide(req.id, person('h-olga', 'olga@example.com', ['ops']), 'approve', undefined, ctx);
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => svc(i % 2 === 0 ? a : b).consume(req.id, action)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    }
  });
});

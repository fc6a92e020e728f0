import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider } from '../src/capabilities/approvals/approvals.model.js';
import type { ApprovalsAdmin } from '../src/capabilities/approvals/approvals.service.js';
import { systemContext } from '../src/core/shared/context.js';
import { startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

const suffix = () => Math.random().toString(36).slice(2, 8);
const ctx = systemContext('test');
const person = (id: string, email: string): Decider => ({
  ref: `person:${id}`,
  names: [`person:${id}`, `person:${email}`],
  groups: ['friends'],
  admin: false,
});

/**
 * Issue 14: a grant is bound to who asked and who may decide, not only to the action. A requester
 * cannot name friendlier approvers for a JIT elevation, nor use another requester's grant.
 */
describe('approval grants are bound to their requester and approvers', () => {
  let s: TestServer;
  let approvals: ApprovalsAdmin;
  let agent: { identityId: string; token: string };
  const role = `orders-admin-${suffix()}`;

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    approvals = (s.tessera.services as unknown as { approvals: ApprovalsAdmin }).approvals;
    await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } });
    await s.call('POST', `/v1/roles/${role}/rules`, {
      token: s.adminToken,
      body: { ruleType: 'identity', path: '/*', capabilities: ['list'] },
    });
    const { method, root } = await uidSetup(
      s,
      { owner: 'person:owner@example.com' },
      `/agents/b-${suffix()}`,
    );
    agent = { identityId: method.identityId, token: (await uidAuth(s, root.token)).body.token };
    const e = await s.call('POST', '/v1/jit/eligibilities', {
      token: s.adminToken,
      body: { identityId: agent.identityId, roleName: role, maxDurationSec: 600, breakGlass: false },
    });
    expect(e.status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  const action = () => ({
    kind: 'jit.elevate',
    identityId: agent.identityId,
    roleName: role,
    durationSec: 300,
  });

  it('JIT: approvers the requester chose (an accomplice) do not activate; the owner does', async () => {
    const rigged = await s.call('POST', '/v1/approvals', {
      token: agent.token,
      body: {
        action: action(),
        justification: 'trust me',
        approvers: { kind: 'person', person: 'person:accomplice@example.com' },
      },
    });
    expect(rigged.status).toBe(201);
    await approvals.decide(
      rigged.body.id,
      person('h-acc', 'accomplice@example.com'),
      'approve',
      undefined,
      ctx,
    );
    const refused = await s.call('POST', '/v1/jit/activate', {
      token: agent.token,
      body: { approvalId: rigged.body.id },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('TESSERA_APPROVAL_CLOSED');
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'approval.use_refused')
      .where('resource', '=', `/approvals/${rigged.body.id}`)
      .execute();
    expect(events.map((e) => e.reason)).toContain('approvers_not_allowed');

    const fair = await s.call('POST', '/v1/approvals', {
      token: agent.token,
      body: { action: action(), justification: 'INC-7' },
    });
    await approvals.decide(fair.body.id, person('h-owner', 'owner@example.com'), 'approve', undefined, ctx);
    const ok = await s.call('POST', '/v1/jit/activate', {
      token: agent.token,
      body: { approvalId: fair.body.id },
    });
    expect(ok.status).toBe(201);
  });

  it('consume with a requester binding refuses another requester and leaves the grant usable', async () => {
    const a = await approvals.request({
      requester: { kind: 'identity', id: agent.identityId, name: 'agent' },
      action: { kind: 'secret.read', path: '/x/y', version: 1 },
      justification: 'read',
      approvers: { kind: 'owner', ownerOf: agent.identityId },
    });
    await approvals.decide(a.id, person('h-owner', 'owner@example.com'), 'approve', undefined, ctx);
    const act = { kind: 'secret.read', path: '/x/y', version: 1 } as const;
    expect(
      await approvals.consume(a.id, act, ctx, { requester: { kind: 'identity', id: 'i-someone-else' } }),
    ).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(
      await approvals.consume(a.id, act, ctx, { requester: { kind: 'identity', id: agent.identityId } }),
    ).toEqual({
      ok: true,
    });
  });
});

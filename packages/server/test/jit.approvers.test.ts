import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider } from '../src/capabilities/approvals/approvals.model.js';
import type { ApprovalsAdmin } from '../src/capabilities/approvals/approvals.service.js';
import { systemContext } from '../src/core/shared/context.js';
import { startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

const suffix = () => Math.random().toString(36).slice(2, 8);
const ctx = systemContext('test');
const member = (id: string, groups: string[]): Decider => ({
  ref: `person:${id}`,
  names: [`person:${id}`, `person:${id}@example.com`],
  groups,
  admin: false,
});

/**
 * Issue 14: a JIT eligibility names its approvers (the owner, or N of M members of an IdP group);
 * `POST /v1/jit/requests` asks them, and only a request decided by them activates the role.
 */
describe('JIT approvers: the owner, a group, or N of M distinct people', () => {
  let s: TestServer;
  let approvals: ApprovalsAdmin;
  let agent: { identityId: string; token: string };
  const role = `db-admin-${suffix()}`;

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
      `/agents/j-${suffix()}`,
    );
    agent = { identityId: method.identityId, token: (await uidAuth(s, root.token)).body.token };
  });
  afterAll(async () => {
    await s?.close();
  });

  it('an eligibility refuses malformed approvers with a 400', async () => {
    for (const approvers of [
      { kind: 'group', group: 'dba', required: 0 },
      { kind: 'group', group: '', required: 2 },
      { kind: 'group', group: 'dba' },
      { kind: 'person', person: 'person:x@example.com' },
    ]) {
      const r = await s.call('POST', '/v1/jit/eligibilities', {
        token: s.adminToken,
        body: { identityId: agent.identityId, roleName: role, maxDurationSec: 600, approvers },
      });
      expect(r.status, JSON.stringify(approvers)).toBe(400);
      expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    }
  });

  it('2 of 3: two distinct people are needed, the same person twice does not count, the requester cannot approve', async () => {
    const e = await s.call('POST', '/v1/jit/eligibilities', {
      token: s.adminToken,
      body: {
        identityId: agent.identityId,
        roleName: role,
        maxDurationSec: 600,
        approvers: { kind: 'group', group: 'dba', required: 2 },
      },
    });
    expect(e.status).toBe(201);
    expect(e.body.approvers).toEqual({ kind: 'group', group: 'dba', required: 2 });

    const asked = await s.call('POST', '/v1/jit/requests', {
      token: agent.token,
      body: { roleName: role, durationSec: 300, justification: 'INC-42 schema fix' },
    });
    expect(asked.status).toBe(201);
    expect(asked.body.approvers).toEqual({ kind: 'group', group: 'dba', required: 2 });
    expect(asked.body.requester).toMatchObject({ kind: 'identity', id: agent.identityId });
    const id = asked.body.id as string;

    // The requester cannot approve its own request.
    const self = await s.call('POST', `/v1/approvals/${id}/approve`, { token: agent.token });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('TESSERA_APPROVAL_SELF');

    // Nor can a person whose sessions run as the requesting identity (a JIT request made from a
    // person's console session names that identity): the two-person rule needs two people.
    await expect(
      approvals.decide(
        id,
        { ...member('h-self', ['dba']), requesterRefs: ['person:h-self', `identity:${agent.identityId}`] },
        'approve',
        undefined,
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'TESSERA_APPROVAL_SELF' });

    // Not a member of the group: not an approver.
    await expect(
      approvals.decide(id, member('h-out', ['devs']), 'approve', undefined, ctx),
    ).rejects.toMatchObject({ code: 'TESSERA_APPROVAL_NOT_APPROVER' });

    const alice = member('h-alice', ['dba']);
    expect((await approvals.decide(id, alice, 'approve', undefined, ctx)).status).toBe('pending');
    // The same person twice does not count.
    await expect(approvals.decide(id, alice, 'approve', undefined, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_CLOSED',
    });
    expect((await approvals.get(id))?.status).toBe('pending');
    const early = await s.call('POST', '/v1/jit/activate', { token: agent.token, body: { approvalId: id } });
    expect(early.status).toBe(409);
    expect(early.body.error.details.reason).toBe('grant_pending');

    const bob = member('h-bob', ['dba', 'devs']);
    expect((await approvals.decide(id, bob, 'approve', undefined, ctx)).status).toBe('approved');
    const ok = await s.call('POST', '/v1/jit/activate', { token: agent.token, body: { approvalId: id } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ roleName: role, approvalId: id });
    const activated = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'jit.activated')
      .where('resource', '=', `/jit/${ok.body.id}`)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(activated.data as string).approvedBy).toEqual(['person:h-alice', 'person:h-bob']);
  });

  it('with group approvers, an owner-approved request does not activate: approvers are the eligibility’s', async () => {
    const byOwner = await s.call('POST', '/v1/approvals', {
      token: agent.token,
      body: {
        action: { kind: 'jit.elevate', identityId: agent.identityId, roleName: role, durationSec: 300 },
        justification: 'the owner is friendlier',
      },
    });
    expect(byOwner.status).toBe(201);
    await approvals.decide(
      byOwner.body.id,
      { ...member('h-owner', []), names: ['person:owner@example.com'] },
      'approve',
      undefined,
      ctx,
    );
    const refused = await s.call('POST', '/v1/jit/activate', {
      token: agent.token,
      body: { approvalId: byOwner.body.id },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.reason).toBe('grant_mismatch');
  });

  it('a request for a role that is not eligible, or longer than allowed, is refused', async () => {
    const other = await s.call('POST', '/v1/jit/requests', {
      token: agent.token,
      body: { roleName: `nope-${suffix()}`, durationSec: 300, justification: 'x' },
    });
    expect(other.status).toBe(403);
    const long = await s.call('POST', '/v1/jit/requests', {
      token: agent.token,
      body: { roleName: role, durationSec: 3600, justification: 'x' },
    });
    expect(long.status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider } from '../src/capabilities/approvals/approvals.model.js';
import type { ApprovalsAdmin } from '../src/capabilities/approvals/approvals.service.js';
import { systemContext } from '../src/core/shared/context.js';
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
const alice = person('h-alice', 'alice@example.com', ['sec']);
const bob = person('h-bob', 'bob@example.com', ['sec']);
const svc = (t: TestServer) => (t.tessera.services as unknown as { approvals: ApprovalsAdmin }).approvals;

/** An agent owned by alice, allowed to read `/<folder>/*` (and nothing else). */
async function agentWithReads(s: TestServer, folder: string) {
  const role = `readers-${suffix()}`;
  await s.call('POST', '/v1/roles', { token: s.adminToken, body: { name: role } });
  await s.call('POST', `/v1/roles/${role}/rules`, {
    token: s.adminToken,
    body: { ruleType: 'item', path: `/${folder}/*`, capabilities: ['read'] },
  });
  const { method, methodName, root } = await uidSetup(
    s,
    { owner: 'person:alice@example.com' },
    `/agents/sec-${suffix()}`,
  );
  const assoc = await s.call('POST', `/v1/roles/${role}/associations`, {
    token: s.adminToken,
    body: { authMethodName: methodName },
  });
  expect(assoc.status).toBe(201);
  const token = (await uidAuth(s, root.token)).body.token as string;
  return { identityId: method.identityId as string, token };
}

/**
 * Issue 14: a secret marked approval-required is read only with a single-use grant from an approval
 * bound to exactly that item, version and requester; without one, 403 `TESSERA_APPROVAL_REQUIRED`
 * says what to request. Native API and the Akeyless-compatible get-secret-value.
 */
describe.each(STORES)('approval-required secrets on %s', (store) => {
  let s: TestServer;
  let agent: { identityId: string; token: string };
  let other: { identityId: string; token: string };
  const folder = `vault-${suffix()}`;
  const name = `/${folder}/payments-key`;

  beforeAll(async () => {
    s = await startTestServer(store);
    agent = await agentWithReads(s, folder);
    other = await agentWithReads(s, folder);
    const created = await s.call('POST', '/v1/secrets', {
      token: s.adminToken,
      body: { name, value: 'pay-v1', approval: {} },
    });
    expect(created.status).toBe(201);
    expect(created.body.approval).toEqual({});
  });
  afterAll(async () => {
    await s?.close();
  });

  const read = (token: string, version?: number) =>
    s.call(
      'GET',
      `/v1/secrets/value?name=${encodeURIComponent(name)}${version ? `&version=${version}` : ''}`,
      {
        token,
      },
    );
  const ask = (token: string, action: unknown, approvers?: unknown) =>
    s.call('POST', '/v1/approvals', {
      token,
      body: { action, justification: 'reconcile payments', ...(approvers ? { approvers } : {}) },
    });

  it('without a grant: 403 TESSERA_APPROVAL_REQUIRED naming the exact action and approvers, audited', async () => {
    const r = await read(agent.token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('TESSERA_APPROVAL_REQUIRED');
    expect(r.body.error.message).toContain('POST /v1/approvals');
    expect(r.body.error.details).toMatchObject({
      reason: 'no_request',
      action: { kind: 'secret.read', path: name, version: 1 },
      approvers: { kind: 'owner', ownerOf: agent.identityId },
    });
    expect(JSON.stringify(r.body)).not.toContain('pay-v1');
    const refused = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'secret.read_refused')
      .where('resource', '=', name)
      .execute();
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.reason).toBe('no_request');
  });

  it('pending → 403 naming the request; approved → one read; the grant is then used', async () => {
    const asked = await ask(agent.token, { kind: 'secret.read', path: name.slice(1), version: 1 });
    expect(asked.status).toBe(201);
    expect(asked.body.action.path).toBe(name); // canonical, however it was spelt
    const pending = await read(agent.token);
    expect(pending.status).toBe(403);
    expect(pending.body.error.details).toMatchObject({
      approvalId: asked.body.id,
      approvalStatus: 'pending',
    });
    // another identity cannot use it, even once approved
    await svc(s).decide(asked.body.id, alice, 'approve', undefined, ctx);
    const stranger = await read(other.token);
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.details.reason).toBe('no_request');
    const ok = await read(agent.token);
    expect(ok.status).toBe(200);
    expect(ok.body.value).toBe('pay-v1');
    const again = await read(agent.token);
    expect(again.status).toBe(403);
    expect(again.body.error.details).toMatchObject({ reason: 'request_used', approvalId: asked.body.id });
    const used = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'approval.used')
      .where('resource', '=', `/approvals/${asked.body.id}`)
      .execute();
    expect(used).toHaveLength(1);
    expect(JSON.parse(used[0]!.data)).toMatchObject({
      requester: `identity:${agent.identityId}`,
      approvedBy: ['person:h-alice'],
    });
  });

  it('a grant is bound to its version: a newer version needs its own approval; denied stays refused', async () => {
    const v1 = await ask(agent.token, { kind: 'secret.read', path: name, version: 1 });
    await svc(s).decide(v1.body.id, alice, 'approve', undefined, ctx);
    expect(
      (await s.call('POST', '/v1/secrets/versions', { token: s.adminToken, body: { name, value: 'pay-v2' } }))
        .status,
    ).toBe(200);
    const latest = await read(agent.token);
    expect(latest.status).toBe(403);
    expect(latest.body.error.details.action).toEqual({ kind: 'secret.read', path: name, version: 2 });
    // a path-only approval does not name a version: it admits nothing
    const loose = await ask(agent.token, { kind: 'secret.read', path: name });
    await svc(s).decide(loose.body.id, alice, 'approve', undefined, ctx);
    expect((await read(agent.token)).status).toBe(403);
    const old = await read(agent.token, 1);
    expect(old.status).toBe(200);
    expect(old.body.value).toBe('pay-v1');
    const v2 = await ask(agent.token, { kind: 'secret.read', path: name, version: 2 });
    await svc(s).decide(v2.body.id, alice, 'deny', 'not today', ctx);
    const denied = await read(agent.token);
    expect(denied.status).toBe(403);
    expect(denied.body.error.details).toMatchObject({ reason: 'request_denied', approvalId: v2.body.id });
  });

  it('one grant, many concurrent reads: exactly one value', async () => {
    const a = await ask(agent.token, { kind: 'secret.read', path: name, version: 2 });
    await svc(s).decide(a.body.id, alice, 'approve', undefined, ctx);
    const results = await Promise.all(Array.from({ length: 12 }, () => read(agent.token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403)).toHaveLength(11);
    expect(results.filter((r) => r.status === 200)[0]!.body.value).toBe('pay-v2');
  });

  it('a group policy needs N distinct members of that group; an owner approval does not meet it', async () => {
    const gname = `/${folder}/root-ca-key`;
    await s.call('POST', '/v1/secrets', { token: s.adminToken, body: { name: gname, value: 'ca-secret' } });
    const set = await s.call('PUT', '/v1/secrets/approval', {
      token: s.adminToken,
      body: { name: gname, approval: { group: 'sec', required: 2 } },
    });
    expect(set.status).toBe(200);
    expect(set.body.approval).toEqual({ group: 'sec', required: 2 });
    // the agent may read but not change the mark
    expect(
      (
        await s.call('PUT', '/v1/secrets/approval', {
          token: agent.token,
          body: { name: gname, approval: null },
        })
      ).status,
    ).toBe(403);
    const action = { kind: 'secret.read', path: gname, version: 1 };
    const byOwner = await ask(agent.token, action);
    await svc(s).decide(byOwner.body.id, alice, 'approve', undefined, ctx);
    const r = await s.call('GET', `/v1/secrets/value?name=${gname}`, { token: agent.token });
    expect(r.status).toBe(403);
    expect(r.body.error.details).toMatchObject({
      reason: 'no_request',
      approvers: { kind: 'group', group: 'sec', required: 2 },
    });
    const two = await ask(agent.token, action, { kind: 'group', group: 'sec', required: 2 });
    await svc(s).decide(two.body.id, alice, 'approve', undefined, ctx);
    expect((await s.call('GET', `/v1/secrets/value?name=${gname}`, { token: agent.token })).status).toBe(403);
    await svc(s).decide(two.body.id, bob, 'approve', undefined, ctx);
    const ok = await s.call('GET', `/v1/secrets/value?name=${gname}`, { token: agent.token });
    expect(ok.status).toBe(200);
    expect(ok.body.value).toBe('ca-secret');
    // cleared: no approval needed
    await s.call('PUT', '/v1/secrets/approval', {
      token: s.adminToken,
      body: { name: gname, approval: null },
    });
    expect((await s.call('GET', `/v1/secrets/value?name=${gname}`, { token: agent.token })).status).toBe(200);
  });

  it('multi-name reads are all or nothing: an unapproved item leaves the other grant unused', async () => {
    const plain = `/${folder}/plain`;
    await s.call('POST', '/v1/secrets', { token: s.adminToken, body: { name: plain, value: 'p' } });
    const refused = await s.call('POST', '/v1/secrets/values', {
      token: agent.token,
      body: { names: [plain, name] },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('TESSERA_APPROVAL_REQUIRED');
    const a = await ask(agent.token, { kind: 'secret.read', path: name, version: 2 });
    await svc(s).decide(a.body.id, alice, 'approve', undefined, ctx);
    const both = await s.call('POST', '/v1/secrets/values', {
      token: agent.token,
      body: { names: [plain, name] },
    });
    expect(both.status).toBe(200);
    expect(both.body.items.map((i: any) => i.value)).toEqual(['p', 'pay-v2']);
  });

  it('the Akeyless-compatible get-secret-value is gated the same way', async () => {
    const body = (token: string) => ({ names: [name], token });
    const refused = await s.tessera.app.inject({
      method: 'POST',
      url: '/akeyless/get-secret-value',
      payload: body(agent.token),
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['x-tessera-error-code']).toBe('TESSERA_APPROVAL_REQUIRED');
    expect(JSON.parse(refused.body).error).toContain('POST /v1/approvals');
    const a = await ask(agent.token, { kind: 'secret.read', path: name, version: 2 });
    await svc(s).decide(a.body.id, alice, 'approve', undefined, ctx);
    const ok = await s.tessera.app.inject({
      method: 'POST',
      url: '/akeyless/get-secret-value',
      payload: body(agent.token),
    });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ [name]: 'pay-v2' });
    const again = await s.tessera.app.inject({
      method: 'POST',
      url: '/akeyless/get-secret-value',
      payload: body(agent.token),
    });
    expect(again.statusCode).toBe(403);
  });

  it('the Akeyless-compatible create-secret and update-secret-val mark and clear approval-required', async () => {
    const akeyless = (command: string, payload: Record<string, unknown>) =>
      s.tessera.app.inject({
        method: 'POST',
        url: `/akeyless/${command}`,
        payload: { token: s.adminToken, ...payload },
      });
    const marked = `/${folder}/ak-${suffix()}`;
    const describe = async () =>
      (
        await s.call('GET', `/v1/secrets/describe?name=${encodeURIComponent(marked)}`, {
          token: s.adminToken,
        })
      ).body.approval ?? null;
    const created = await akeyless('create-secret', {
      name: marked,
      value: 'ak-1',
      'approval-required': 'true',
      'approval-group': 'sec',
      'approval-count': 2,
    });
    expect(created.statusCode, created.body).toBe(200);
    expect(await describe()).toEqual({ group: 'sec', required: 2 });
    const refused = await s.tessera.app.inject({
      method: 'POST',
      url: '/akeyless/get-secret-value',
      payload: { names: [marked], token: agent.token },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['x-tessera-error-code']).toBe('TESSERA_APPROVAL_REQUIRED');

    const cleared = await akeyless('update-secret-val', {
      name: marked,
      value: 'ak-2',
      'approval-required': false,
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(await describe()).toBeNull();
    const open = await s.tessera.app.inject({
      method: 'POST',
      url: '/akeyless/get-secret-value',
      payload: { names: [marked], token: agent.token },
    });
    expect(JSON.parse(open.body)).toEqual({ [marked]: 'ak-2' });

    const again = await akeyless('update-secret-val', {
      name: marked,
      value: 'ak-3',
      'approval-required': true,
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(await describe()).toEqual({});
    // Absent: the mark is unchanged; group or count without approval-required: true is a 400.
    expect((await akeyless('update-secret-val', { name: marked, value: 'ak-4' })).statusCode).toBe(200);
    expect(await describe()).toEqual({});
    for (const bad of [
      { 'approval-group': 'sec' },
      { 'approval-required': 'false', 'approval-count': 2 },
      { 'approval-required': 'yes' },
    ]) {
      const r = await akeyless('update-secret-val', { name: marked, value: 'ak-5', ...bad });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect(await describe()).toEqual({});
  });

  it('a server-internal read (no reader) of a marked item is refused: fail closed', async () => {
    await expect(s.tessera.services.secrets.getValue(name, null, ctx)).rejects.toMatchObject({
      code: 'TESSERA_APPROVAL_REQUIRED',
    });
  });
});

describe('approval-required secrets on two servers on one PostgreSQL database', () => {
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

  it('approved on one server, raced by reads on both: exactly one value per grant', async () => {
    const folder = `race-${suffix()}`;
    const name = `/${folder}/k`;
    const agent = await agentWithReads(a, folder);
    b.track(agent.token);
    await a.call('POST', '/v1/secrets', {
      token: a.adminToken,
      body: { name, value: 'raced', approval: {} },
    });
    for (let round = 0; round < 3; round++) {
      const asked = await b.call('POST', '/v1/approvals', {
        token: agent.token,
        body: { action: { kind: 'secret.read', path: name, version: 1 }, justification: 'race' },
      });
      expect(asked.status).toBe(201);
      await svc(b).decide(asked.body.id, alice, 'approve', undefined, ctx);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).call('GET', `/v1/secrets/value?name=${name}`, { token: agent.token }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 403)).toHaveLength(9);
    }
  });
});

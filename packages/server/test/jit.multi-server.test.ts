import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalsAdmin } from '../src/capabilities/approvals/approvals.service.js';
import type { JitService } from '../src/capabilities/jit/jit.service.js';
import { systemContext } from '../src/core/shared/context.js';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { type ServerPair, startServerPair, type TestServer, uidAuth, uidSetup } from './harness.js';

const suffix = () => Math.random().toString(36).slice(2, 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 14, zero standing privilege: a role eligible for an agent works only after its owner
 * approved, for its window, on two servers sharing one PostgreSQL, and lapses on both; break-glass
 * works without approval, bounded and alerted.
 */
describe('just-in-time roles on two servers on one PostgreSQL database', () => {
  let pair: ServerPair | undefined;
  let a: TestServer;
  let b: TestServer;
  let hook: WebhookReceiver;
  const alerts: any[] = [];
  /** The eligibility the first test creates; the audit test removes it. */
  let eligibilityId = '';
  const svc = <T>(t: TestServer, name: string) => (t.tessera.services as unknown as Record<string, T>)[name]!;

  beforeAll(async () => {
    hook = await startWebhookReceiver((body) => alerts.push(JSON.parse(body)));
    pair = await startServerPair({
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts'),
    });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
    await hook?.close();
  });

  /** Polls until `status` (another server hears of access changes by NOTIFY, within a second or two). */
  async function until(s: TestServer, token: string, status: number) {
    let last = 0;
    for (let i = 0; i < 60; i++) {
      last = (await s.call('GET', '/v1/identities', { token })).status;
      if (last === status) return last;
      await sleep(50);
    }
    return last;
  }

  it('activates on approval, works for its window on both servers, and lapses on both', async () => {
    const role = `db-readers-${suffix()}`;
    expect((await a.call('POST', '/v1/roles', { token: a.adminToken, body: { name: role } })).status).toBe(
      201,
    );
    await a.call('POST', `/v1/roles/${role}/rules`, {
      token: a.adminToken,
      body: { ruleType: 'identity', path: '/*', capabilities: ['list'] },
    });
    const { method, root } = await uidSetup(
      a,
      { owner: 'person:owner@example.com' },
      `/agents/jit-${suffix()}`,
    );
    const identityId = method.identityId as string;
    const agent = (await uidAuth(a, root.token)).body.token as string;
    b.track(agent);
    const eligible = await a.call('POST', '/v1/jit/eligibilities', {
      token: a.adminToken,
      body: { identityId, roleName: role, maxDurationSec: 600, breakGlass: true },
    });
    expect(eligible.status, JSON.stringify(eligible.body)).toBe(201);
    eligibilityId = eligible.body.id;

    // No standing privilege.
    expect((await a.call('GET', '/v1/identities', { token: agent })).status).toBe(403);
    const action = { kind: 'jit.elevate', identityId, roleName: role, durationSec: 300 };
    const tooLong = await a.call('POST', '/v1/approvals', {
      token: agent,
      body: { action: { ...action, durationSec: 601 }, justification: 'too long' },
    });
    const req = await a.call('POST', '/v1/approvals', {
      token: agent,
      body: { action, justification: 'INC-7' },
    });
    expect(req.status).toBe(201);
    expect(
      (await a.call('POST', '/v1/jit/activate', { token: agent, body: { approvalId: req.body.id } })).status,
    ).toBe(409);
    // The owner decides on server B.
    const owner = { ref: 'person:h-owner', names: ['person:owner@example.com'], groups: [], admin: false };
    await svc<ApprovalsAdmin>(b, 'approvals').decide(
      req.body.id,
      owner,
      'approve',
      undefined,
      systemContext('t'),
    );
    // Approved for 601 s, but the eligibility allows 600: refused, and the grant is not consumed.
    await svc<ApprovalsAdmin>(b, 'approvals').decide(
      tooLong.body.id,
      owner,
      'approve',
      undefined,
      systemContext('t'),
    );
    expect(
      (await a.call('POST', '/v1/jit/activate', { token: agent, body: { approvalId: tooLong.body.id } }))
        .status,
    ).toBe(400);

    const activated = await a.call('POST', '/v1/jit/activate', {
      token: agent,
      body: { approvalId: req.body.id },
    });
    expect(activated.status, JSON.stringify(activated.body)).toBe(201);
    expect(activated.body).toMatchObject({ identityId, roleName: role, approvalId: req.body.id });
    expect((await a.call('GET', '/v1/identities', { token: agent })).status).toBe(200);
    expect(await until(b, agent, 200)).toBe(200);
    // The grant was single use.
    expect(
      (await b.call('POST', '/v1/jit/activate', { token: agent, body: { approvalId: req.body.id } })).status,
    ).toBe(409);

    // The window passes (both servers' clocks): refused on both, with no job or message needed.
    a.clock.advance(301);
    b.clock.advance(301);
    expect((await a.call('GET', '/v1/identities', { token: agent })).status).toBe(403);
    expect((await b.call('GET', '/v1/identities', { token: agent })).status).toBe(403);
    expect(await svc<JitService>(a, 'jit').cleanup(systemContext('t'))).toBe(1);
    const types = (
      await a.tessera.store.db
        .selectFrom('audit_events')
        .select(['type', 'data'])
        .where('type', 'like', 'jit.%')
        .execute()
    ).map((e) => ({ type: e.type, data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data }));
    const act = types.find((t) => t.type === 'jit.activated')!.data;
    expect(act).toMatchObject({
      requester: `identity:${identityId}`,
      approvedBy: ['person:h-owner'],
      roleName: role,
    });
    expect(types.map((t) => t.type)).toContain('jit.lapsed');

    // Break-glass: no approval, bounded, alerted at once.
    expect(
      (
        await b.call('POST', '/v1/jit/break-glass', {
          token: agent,
          body: { roleName: role, durationSec: 1200, justification: 'database on fire, owner unreachable' },
        })
      ).status,
    ).toBe(400);
    const glass = await b.call('POST', '/v1/jit/break-glass', {
      token: agent,
      body: { roleName: role, durationSec: 120, justification: 'database on fire, owner unreachable' },
    });
    expect(glass.status, JSON.stringify(glass.body)).toBe(201);
    expect(glass.body.breakGlass).toBe(true);
    expect(await until(a, agent, 200)).toBe(200);
    for (let i = 0; i < 100 && !alerts.some((x) => x.alert?.rule === 'jit_break_glass'); i++) await sleep(20);
    expect(alerts.find((x) => x.alert?.rule === 'jit_break_glass')?.alert.severity).toBe('critical');
  });

  it('holds every jit.* event of this file to the catalogue, and emits each type', async () => {
    const removed = await a.call('DELETE', `/v1/jit/eligibilities/${eligibilityId}`, { token: a.adminToken });
    expect(removed.status).toBe(204);
    await expectPrefixCatalogued(a.tessera.store.db, 'jit.');
  });
});

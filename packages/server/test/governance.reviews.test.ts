import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.js';
import { adminSession, STORES, startTestServer, type TestServer } from './harness.js';

/**
 * Issue 16, access reviews (ADR 0029): a campaign over an environment's identities; owners keep,
 * narrow or revoke; reminders and the no-answer consequence (suspend) go out as alerts through the
 * webhook; every step is audited; the report exports as JSON and CSV.
 */
describe.each(STORES)('access reviews on %s', (store) => {
  let s: TestServer;
  let hook: WebhookReceiver;
  const bodies: string[] = [];
  const tag = `rv${Math.random().toString(36).slice(2, 7)}`;
  const env = `review-${tag}`;
  let admin: string;
  const call = (method: string, url: string, body?: unknown, token = admin) =>
    s.call(method, url, { token, ...(body !== undefined ? { body } : {}) });
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await call(method, url, body);
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const alerts = (rule: string) =>
    bodies
      .map((b) => JSON.parse(b))
      .filter((b) => b.alert?.rule === rule)
      .map((b) => b.alert);

  /** A service on an access key with a role of two reads; returns its id and a sign-in. */
  async function service(name: string, owner: string) {
    const ident = await ok('POST', '/v1/identities', { name, kind: 'service', owner, environment: env });
    const m = await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `${name}-key`,
      identityId: ident.id,
    });
    const role = `${name.replace(/\//g, '-')}-role`;
    await ok('POST', '/v1/roles', { name: role });
    await ok('POST', `/v1/roles/${role}/rules`, {
      ruleType: 'item',
      path: `/${tag}/db/*`,
      capabilities: ['read'],
    });
    await ok('POST', `/v1/roles/${role}/associations`, { authMethodName: `${name}-key` });
    const login = async () =>
      s.call('POST', '/v1/auth', {
        body: { accessType: 'access_key', accessId: m.authMethod.id, accessKey: m.accessKey },
      });
    const read = async (path: string) =>
      (await call('GET', `/v1/secrets/value?name=/${tag}/db/${path}`, undefined, (await login()).body.token))
        .status;
    return { id: ident.id as string, login, read };
  }
  let api: Awaited<ReturnType<typeof service>>;
  let batch: Awaited<ReturnType<typeof service>>;
  let legacy: Awaited<ReturnType<typeof service>>;
  let campaignId: string;

  beforeAll(async () => {
    hook = await startWebhookReceiver(bodies);
    s = await startTestServer(store, {
      TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts'),
    });
    admin = s.adminToken;
    for (const p of ['password', 'user'])
      await ok('POST', '/v1/secrets', { name: `${tag}/db/${p}`, value: `v-${p}` });
    api = await service(`svc-${tag}/api`, `alice-${tag}`);
    batch = await service(`svc-${tag}/batch`, `alice-${tag}`);
    legacy = await service(`svc-${tag}/legacy`, `bob-${tag}`);
    // The api only ever reads the password.
    expect(await api.read('password')).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
  });

  it('starts a campaign over the scope, with each identity’s permissions and whether each was used', async () => {
    const c = await ok('POST', '/v1/reviews', {
      name: `Q4 ${env}`,
      scope: { environment: env },
      dueInDays: 7,
      consequence: 'suspend',
      reminderIntervalHours: 24,
    });
    campaignId = c.id;
    expect(c.state).toBe('open');
    expect(c.summary).toMatchObject({ total: 3, pending: 3 });
    const page = await ok('GET', `/v1/reviews/${c.id}?owner=alice-${tag}`);
    expect(page.items.map((i: any) => i.identityName).sort()).toEqual([`svc-${tag}/api`, `svc-${tag}/batch`]);
    const apiItem = page.items.find((i: any) => i.identityId === api.id);
    expect(apiItem.permissions).toEqual([
      expect.objectContaining({
        ruleType: 'item',
        path: `/${tag}/db/*`,
        capabilities: ['read'],
        usedInWindow: true,
      }),
    ]);
    const batchItem = page.items.find((i: any) => i.identityId === batch.id);
    expect(batchItem.permissions[0].usedInWindow).toBe(false);
    expect((await ok('GET', '/v1/reviews?state=open')).items.map((x: any) => x.id)).toContain(c.id);
  });

  it('narrow keeps every observed call and refuses the rest; revoke leaves the credential granting nothing', async () => {
    const narrowed = await ok('POST', `/v1/reviews/${campaignId}/decisions`, {
      identityId: api.id,
      decision: 'narrow',
      comment: 'only the password is needed',
    });
    expect(narrowed.decision).toBe('narrow');
    expect(narrowed.outcome).toMatch(/^narrowed to narrowed\//);
    expect(typeof narrowed.decidedBy).toBe('string');
    expect(await api.read('password')).toBe(200);
    expect(await api.read('user')).toBe(403);

    const revoked = await ok('POST', `/v1/reviews/${campaignId}/decisions`, {
      identityId: batch.id,
      decision: 'revoke',
    });
    expect(revoked.outcome).toMatch(/^revoked roles /);
    expect((await batch.login()).status).toBe(200);
    expect(await batch.read('password')).toBe(403);

    const again = await call('POST', `/v1/reviews/${campaignId}/decisions`, {
      identityId: api.id,
      decision: 'keep',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TESSERA_CONFLICT');
  });

  it('reminds owners with pending items, then suspends what nobody answered for, and closes', async () => {
    const reminded = await ok('POST', `/v1/reviews/${campaignId}/remind`);
    expect(reminded).toEqual({ reminded: 1, expired: 0, state: 'open' });
    await expect.poll(() => alerts('access_review_reminder').length, { timeout: 5000 }).toBeGreaterThan(0);
    const reminder = alerts('access_review_reminder').find((a) => a.fields.campaignId === campaignId);
    expect(reminder.fields).toMatchObject({ owner: `bob-${tag}`, pending: 1 });

    s.clock.advance(8 * 86_400);
    admin = await adminSession(s);
    const closed = await ok('POST', `/v1/reviews/${campaignId}/remind`);
    expect(closed).toEqual({ reminded: 0, expired: 1, state: 'closed' });
    expect((await ok('GET', `/v1/identities/${legacy.id}`)).state).toBe('suspended');
    expect((await legacy.login()).status).toBe(401);
    await expect.poll(() => alerts('access_review_overdue').length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(
      alerts('access_review_overdue').find((a) => a.fields.identityId === legacy.id).fields.outcome,
    ).toBe('suspended');
    const late = await call('POST', `/v1/reviews/${campaignId}/decisions`, {
      identityId: legacy.id,
      decision: 'keep',
    });
    expect(late.status).toBe(409);
  });

  it('exports the report as JSON and CSV, and every step is in the audit ledger', async () => {
    const report = await ok('GET', `/v1/reviews/${campaignId}/report`);
    expect(report.campaign.state).toBe('closed');
    expect(report.summary).toEqual({ total: 3, pending: 0, keep: 0, narrow: 1, revoke: 1, expired: 1 });
    const csv = await call('GET', `/v1/reviews/${campaignId}/report?format=csv`);
    expect(csv.status).toBe(200);
    const lines = String(csv.body ?? csv.text)
      .trim()
      .split('\n');
    expect(lines[0]).toBe(
      'identityId,identityName,owner,permissions,unusedPermissions,decision,decidedBy,decidedAt,outcome,comment',
    );
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.startsWith(legacy.id))).toContain(',expired,system,');
    const events = await ok(
      'GET',
      `/v1/audit/events?limit=200&resourcePrefix=${encodeURIComponent(`/reviews/${campaignId}`)}`,
    );
    const types = (events.items as any[]).map((e) => e.type);
    for (const t of [
      'governance.review_started',
      'governance.review_decided',
      'governance.review_reminder',
      'governance.review_expired',
      'governance.review_closed',
    ])
      expect(types).toContain(t);
  });

  it('refuses bad input with 400 and an unknown campaign with 404', async () => {
    expect((await call('POST', '/v1/reviews', { name: 'x', dueInDays: 0 })).status).toBe(400);
    expect(
      (await call('POST', '/v1/reviews', { name: 'x', dueInDays: 3, scope: { environment: `none-${tag}` } }))
        .body.error.code,
    ).toBe('TESSERA_VALIDATION_FAILED');
    expect(
      (await call('POST', `/v1/reviews/${campaignId}/decisions`, { identityId: api.id, decision: 'maybe' }))
        .status,
    ).toBe(400);
    expect((await call('GET', '/v1/reviews/ar-nothere')).status).toBe(404);
    expect((await call('GET', '/v1/reviews/ar-nothere/report')).status).toBe(404);
  });

  it('holds its governance.* events to the audit catalogue', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'governance.', [
      'governance.review_started',
      'governance.review_decided',
      'governance.review_reminder',
      'governance.review_expired',
      'governance.review_closed',
    ]);
  });
});

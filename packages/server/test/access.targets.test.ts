import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

/**
 * Target conditions in the roles model (issue 15, ADR 0042): a rule may require the owner or tags
 * of the object it is about. An item's owner is its `owner:` tag; the server loads it, the pure
 * decision compares it with the caller's identity and its owner.
 */
describe('roles model: conditions on the target (owner and tags)', () => {
  let s: TestServer;
  let token: string;
  const api = (method: string, url: string, body?: unknown, as = s.adminToken) =>
    s.call(method, url, { token: as, ...(body !== undefined ? { body } : {}) });
  const value = (name: string) =>
    api('GET', `/v1/secrets/value?name=${encodeURIComponent(name)}`, undefined, token);

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    for (const [name, tags] of [
      ['/proj/alice-plan', ['owner:alice@example.com', 'plan']],
      ['/proj/bob-plan', ['owner:bob@example.com', 'plan']],
      ['/proj/nobody', ['plan']],
    ] as const)
      expect((await api('POST', '/v1/secrets', { name, value: `value of ${name}`, tags })).status).toBe(201);
    expect((await api('POST', '/v1/roles', { name: 'own-projects' })).status).toBe(201);
    const rule = await api('POST', '/v1/roles/own-projects/rules', {
      ruleType: 'item',
      path: '/proj/*',
      capabilities: ['read'],
      conditions: { target: { owner: 'principal-owner', tags: ['plan'] } },
    });
    expect(rule.status).toBe(200);
    expect(rule.body.conditions).toEqual({ target: { owner: 'principal-owner', tags: ['plan'] } });
    // An agent whose accountable human is alice.
    const m = await api('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: '/agents/alice-helper',
      owner: 'alice@example.com',
    });
    expect(m.status).toBe(201);
    s.track(m.body.accessKey);
    expect(
      (await api('POST', '/v1/roles/own-projects/associations', { authMethodName: '/agents/alice-helper' }))
        .status,
    ).toBe(201);
    const login = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    expect(login.status).toBe(200);
    token = login.body.token;
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it("reads an item its owner owns; another owner's item and an ownerless one are refused", async () => {
    const own = await value('/proj/alice-plan');
    expect(own.status).toBe(200);
    expect(own.body.value).toBe('value of /proj/alice-plan');
    expect((await value('/proj/bob-plan')).status).toBe(403);
    expect((await value('/proj/nobody')).status).toBe(403);
    // An item that does not exist has no owner: the condition fails closed (no existence oracle).
    expect((await value('/proj/missing')).status).toBe(403);
  });

  it('access explain names the failed target condition', async () => {
    const e = await api(
      'POST',
      '/v1/access/explain',
      { action: 'read', ruleType: 'item', path: '/proj/nobody' },
      token,
    );
    expect(e.status).toBe(200);
    expect(e.body).toMatchObject({ allowed: false, reason: 'no-matching-rule' });
    expect(e.body.notApplied).toEqual([
      expect.objectContaining({ role: 'own-projects', why: 'target-owner' }),
    ]);
    expect(e.body.summary).toContain('target-owner');
    const ok = await api(
      'POST',
      '/v1/access/explain',
      { action: 'read', ruleType: 'item', path: '/proj/alice-plan' },
      token,
    );
    expect(ok.body).toMatchObject({ allowed: true, role: 'own-projects' });
  });

  it('refuses an unknown owner kind with a clear 400', async () => {
    const r = await api('POST', '/v1/roles/own-projects/rules', {
      ruleType: 'item',
      path: '/other/*',
      capabilities: ['read'],
      conditions: { target: { owner: 'everyone' } },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).not.toContain('stack');
  });
});

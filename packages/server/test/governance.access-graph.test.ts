import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

/**
 * The effective-access graph (issue 16, ADR 0043): a small realistic estate — a service reading its
 * own secrets, an operator through an included role, deployers narrowed by claims, an agent acting
 * for a client through token exchange, a denied auditor, an identity able to edit its own role — and
 * `GET /v1/inventory/access` returns exactly who reaches a secret, through which path, and the
 * escalation path. Each direct path is checked against the real decision (the session can read).
 */
describe.each(STORES)('effective-access graph on %s', (store) => {
  let s: TestServer;
  const tag = Math.random().toString(36).slice(2, 7);
  const secret = `/${tag}/prod/billing/invoices`;
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const ids: Record<string, string> = {};
  const keys: Record<string, { accessId: string; accessKey: string }> = {};

  /** An identity with an access key, and a role with `rules` associated with it (with `claims`). */
  async function member(
    name: string,
    identity: Record<string, unknown>,
    role: string | null,
    claims?: Record<string, string[]>,
  ) {
    const ident = await ok('POST', '/v1/identities', { name: `${name}-${tag}`, owner: 'alice', ...identity });
    ids[name] = ident.id;
    const m = await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `${name}-${tag}-key`,
      identityId: ident.id,
    });
    keys[name] = { accessId: m.authMethod.id, accessKey: m.accessKey };
    if (role)
      await ok('POST', `/v1/roles/${role}/associations`, {
        authMethodName: `${name}-${tag}-key`,
        ...(claims ? { claims } : {}),
      });
  }
  async function role(name: string, rules: unknown[], includes: string[] = []) {
    await ok('POST', '/v1/roles', { name });
    for (const rule of rules) await ok('POST', `/v1/roles/${name}/rules`, rule);
    for (const included of includes) await ok('POST', `/v1/roles/${name}/includes`, { role: included });
  }
  const readAs = async (name: string) => {
    const auth = await s.call('POST', '/v1/auth', { body: { accessType: 'access_key', ...keys[name] } });
    const r = await s.call('GET', `/v1/secrets/value?name=${encodeURIComponent(secret)}`, {
      token: auth.body.token,
    });
    return r.status;
  };
  const who = async () => ok('GET', `/v1/inventory/access?type=item&path=${encodeURIComponent(secret)}`);
  const mine = (body: any) => body.reachers.filter((r: any) => r.identityName.endsWith(`-${tag}`));
  const reacher = (body: any, name: string) =>
    body.reachers.find((r: any) => r.identityName === `${name}-${tag}`);
  const stepsOf = (path: any) => path.steps.map((x: any) => `${x.kind}:${x.name}`);

  beforeAll(async () => {
    s = await startTestServer(store);
    await ok('POST', '/v1/secrets', { name: secret, value: 'invoice-db-password' });
    await role(`billing-read-${tag}`, [
      { ruleType: 'item', path: `/${tag}/prod/billing/*`, capabilities: ['read'] },
    ]);
    await role(`prod-base-${tag}`, [
      { ruleType: 'item', path: `/${tag}/prod/*`, capabilities: ['read', 'list'] },
    ]);
    await role(`ops-${tag}`, [], [`prod-base-${tag}`]);
    await role(`deployers-${tag}`, [
      { ruleType: 'item', path: `/${tag}/prod/billing/*`, capabilities: ['read', 'update'] },
    ]);
    await role(`auditors-${tag}`, [
      { ruleType: 'item', path: `/${tag}/prod/*`, capabilities: ['read'] },
      { ruleType: 'item', path: `/${tag}/prod/billing/*`, capabilities: ['deny'] },
    ]);
    await role(`self-editor-${tag}`, [
      { ruleType: 'item', path: `/${tag}/dev/*`, capabilities: ['read'] },
      { ruleType: 'role', path: `/self-editor-${tag}`, capabilities: ['update'] },
    ]);
    await role(`dev-${tag}`, [{ ruleType: 'item', path: `/${tag}/dev/*`, capabilities: ['read'] }]);

    await member('billing-api', { kind: 'service', environment: 'prod' }, `billing-read-${tag}`);
    await member('ops-bot', { kind: 'workload', environment: 'prod' }, `ops-${tag}`);
    await member('deploy-prod', { kind: 'ci-pipeline', environment: 'prod' }, `deployers-${tag}`, {
      environment: ['prod'],
    });
    await member('deploy-staging', { kind: 'ci-pipeline', environment: 'staging' }, `deployers-${tag}`, {
      environment: ['prod'],
    });
    await member('auditor', { kind: 'service' }, `auditors-${tag}`);
    await member('sneaky', { kind: 'ai-agent' }, `self-editor-${tag}`);
    await member('dev-only', { kind: 'workload', environment: 'dev' }, `dev-${tag}`);

    // Delegation: billing-api's OAuth client holds billing-read; an agent's client may act for it.
    const billingClient = await ok('POST', '/v1/oauth-clients', {
      name: `billing-client-${tag}`,
      identityId: ids['billing-api'],
      resources: ['https://billing.example'],
    });
    await ok('POST', `/v1/roles/billing-read-${tag}/associations`, {
      authMethodName: `billing-client-${tag}`,
    });
    const agent = await ok('POST', '/v1/identities', {
      name: `agent-${tag}`,
      kind: 'ai-agent',
      owner: 'bob',
    });
    ids.agent = agent.id;
    await ok('POST', '/v1/oauth-clients', {
      name: `agent-client-${tag}`,
      identityId: agent.id,
      resources: ['https://billing.example'],
      mayActFor: [billingClient.client.clientId],
    });
  }, 120_000);
  afterAll(async () => s?.close());

  it('returns every identity that reaches the secret, with the path and capabilities', async () => {
    const body = await who();
    expect(body.resource).toEqual({ type: 'item', path: secret });
    expect(
      mine(body)
        .map((r: any) => r.identityName.replace(`-${tag}`, ''))
        .sort(),
    ).toEqual(['agent', 'auditor', 'billing-api', 'deploy-prod', 'ops-bot']);

    const billing = reacher(body, 'billing-api');
    expect(billing.capabilities).toEqual(['read']);
    expect(billing.paths.map(stepsOf)).toContainEqual([
      `identity:billing-api-${tag}`,
      `auth-method:billing-api-${tag}-key`,
      expect.stringMatching(/^association:/),
      `role:billing-read-${tag}`,
      `rule:item:/${tag}/prod/billing/*`,
    ]);
    expect(billing.escalation).toBeNull();

    // Role inclusion: ops holds prod-base through ops.
    const ops = reacher(body, 'ops-bot');
    expect(ops.capabilities).toEqual(['list', 'read']);
    expect(stepsOf(ops.paths[0]).slice(3)).toEqual([
      `role:ops-${tag}`,
      `includes:prod-base-${tag}`,
      `rule:item:/${tag}/prod/*`,
    ]);

    // Claims-narrowed association: only the prod pipeline passes the filter; the path shows it.
    const deploy = reacher(body, 'deploy-prod');
    expect(deploy.capabilities).toEqual(['read', 'update']);
    expect(deploy.paths[0].steps[2]).toMatchObject({
      kind: 'association',
      detail: { claims: { environment: ['prod'] } },
    });
    expect(reacher(body, 'deploy-staging')).toBeUndefined();

    // A deny reaching the same principal: listed with the path, but denied and with no capability.
    const auditor = reacher(body, 'auditor');
    expect(auditor.capabilities).toEqual([]);
    expect(auditor.paths.every((p: any) => p.denied)).toBe(true);

    // Delegation: the agent's client may act for billing-api's client (token exchange).
    const agent = reacher(body, 'agent');
    expect(agent.capabilities).toEqual(['read']);
    expect(agent.paths).toHaveLength(1);
    expect(agent.paths[0].via).toBe('delegation');
    expect(stepsOf(agent.paths[0])).toEqual([
      `identity:agent-${tag}`,
      `auth-method:agent-client-${tag}`,
      `delegation:billing-client-${tag}`,
      `auth-method:billing-client-${tag}`,
      expect.stringMatching(/^association:/),
      `role:billing-read-${tag}`,
      `rule:item:/${tag}/prod/billing/*`,
    ]);
    expect(agent.paths[0].steps[2].detail).toMatchObject({ actsFor: `billing-api-${tag}` });

    // The administrator reaches everything through the built-in role.
    expect(
      body.reachers.some((r: any) => r.paths.some((p: any) => stepsOf(p).includes('role:tessera-admin'))),
    ).toBe(true);
  });

  it('agrees with the real decision: reachers read the secret, the others are refused', async () => {
    for (const name of ['billing-api', 'ops-bot', 'deploy-prod']) expect(await readAs(name)).toBe(200);
    for (const name of ['deploy-staging', 'auditor', 'sneaky', 'dev-only'])
      expect(await readAs(name)).toBe(403);
  });

  it('flags the escalation path of an identity that may edit the role it holds', async () => {
    const body = await who();
    const esc = body.escalations.filter((e: any) => e.identityName.endsWith(`-${tag}`));
    expect(esc).toHaveLength(1);
    expect(esc[0]).toMatchObject({
      identityId: ids.sneaky,
      canEditOwnRoles: [`self-editor-${tag}`],
      canAssociateAdministrator: [],
    });
    expect(esc[0].steps.at(-1)).toMatchObject({
      kind: 'rule',
      name: `role:/self-editor-${tag}`,
      detail: { edits: `role:/self-editor-${tag}` },
    });
    // The path is real: its session adds a rule to its own role, then reads the secret.
    const auth = await s.call('POST', '/v1/auth', { body: { accessType: 'access_key', ...keys.sneaky } });
    const added = await s.call('POST', `/v1/roles/self-editor-${tag}/rules`, {
      token: auth.body.token,
      body: { ruleType: 'item', path: `/${tag}/prod/*`, capabilities: ['read'] },
    });
    expect(added.status).toBeLessThan(300);
    expect(await readAs('sneaky')).toBe(200);
    const after = reacher(await who(), 'sneaky');
    expect(after.escalation).toMatchObject({ canEditOwnRoles: [`self-editor-${tag}`] });
    // Remediated: the right to edit the role removed, the escalation is gone.
    await ok(
      'DELETE',
      `/v1/roles/self-editor-${tag}/rules?ruleType=role&path=${encodeURIComponent(`/self-editor-${tag}`)}`,
    );
    const fixed = await who();
    expect(fixed.escalations.some((e: any) => e.identityId === ids.sneaky)).toBe(false);
  });

  it('refuses bad input with 400 and a caller without inventory rights with 403', async () => {
    for (const q of ['', '?path=relative', '?type=nope&path=/x', `?path=/x&extra=1`]) {
      const r = await s.call('GET', `/v1/inventory/access${q}`, { token: s.adminToken });
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.body)).not.toMatch(/stack|at .*\.js/);
    }
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', ...keys['billing-api'] },
    });
    const r = await s.call('GET', `/v1/inventory/access?path=${encodeURIComponent(secret)}`, {
      token: auth.body.token,
    });
    expect(r.status).toBe(403);
  });
});

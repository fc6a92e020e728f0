import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider } from '../src/capabilities/approvals/approvals.model.js';
import type { ReviewsService } from '../src/capabilities/governance/reviews.service.js';
import { systemContext } from '../src/core/shared/context.js';
import { expectPrefixCatalogued } from './fixtures/audit-catalogue.js';
import { startTestServer, type TestServer } from './harness.js';

const suffix = () => Math.random().toString(36).slice(2, 8);
const person = (id: string, email: string, groups: string[] = []): Decider => ({
  ref: `person:${id}`,
  names: [`person:${id}`, `person:${email}`],
  groups,
  admin: false,
});

/**
 * Issue 16, access reviews (ADR 0029): only the identity's owner (the person its owner string names,
 * a member of its owner group) or an administrator certifies its review item, by the approvals'
 * rule; permission to edit the identity is not enough.
 */
describe('access reviews: only the owner or an administrator decides', () => {
  let s: TestServer;
  let reviews: ReviewsService;
  const tag = suffix();
  const env = `review-owner-${tag}`;
  const ids: Record<string, string> = {};
  let campaignId: string;
  let editor: string;
  const ok = async (method: string, url: string, body?: unknown, token = s.adminToken) => {
    const r = await s.call(method, url, { token, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    reviews = (s.tessera.services as unknown as { reviews: ReviewsService }).reviews;
    const owners = {
      alice: 'person:alice@example.com',
      bob: 'person:bob@example.com',
      team: `group:team-${tag}`,
      nobody: `carol-${tag}`,
    };
    for (const [key, owner] of Object.entries(owners))
      ids[key] = (
        await ok('POST', '/v1/identities', {
          name: `svc-${tag}-${key}`,
          kind: 'service',
          owner,
          environment: env,
        })
      ).id;
    // A service that may update every identity, but owns none of them and is not an administrator.
    const ident = await ok('POST', '/v1/identities', {
      name: `editor-${tag}`,
      kind: 'service',
      owner: 'person:ed@example.com',
    });
    const m = await ok('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `editor-${tag}-key`,
      identityId: ident.id,
    });
    const role = `editor-${tag}`;
    await ok('POST', '/v1/roles', { name: role });
    await ok('POST', `/v1/roles/${role}/rules`, {
      ruleType: 'identity',
      path: '/*',
      capabilities: ['read', 'list', 'update'],
    });
    await ok('POST', `/v1/roles/${role}/associations`, { authMethodName: `editor-${tag}-key` });
    const auth = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.authMethod.id, accessKey: m.accessKey },
    });
    editor = auth.body.token;
    campaignId = (
      await ok('POST', '/v1/reviews', { name: `owners ${tag}`, scope: { environment: env }, dueInDays: 7 })
    ).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses an identity that may update the identity but is not its owner (403 TESSERA_REVIEW_NOT_OWNER)', async () => {
    const r = await s.call('POST', `/v1/reviews/${campaignId}/decisions`, {
      token: editor,
      body: { identityId: ids.alice, decision: 'keep' },
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('TESSERA_REVIEW_NOT_OWNER');
    const item = (await ok('GET', `/v1/reviews/${campaignId}`)).items.find(
      (i: any) => i.identityId === ids.alice,
    );
    expect(item.decision).toBeNull();
    // The refusal is in the audit ledger, with who tried and what they asked for.
    const events = await ok(
      'GET',
      `/v1/audit/events?limit=200&resourcePrefix=${encodeURIComponent(`/reviews/${campaignId}`)}`,
    );
    const refused = (events.items as any[]).filter((e) => e.type === 'governance.review_refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      outcome: 'denied',
      data: { campaignId, identityId: ids.alice, decision: 'keep', owner: 'person:alice@example.com' },
    });
    expect(refused[0].data.decider).toMatch(/^identity:/);
  });

  it("refuses another owner's person and lets the owner (by e-mail name) certify", async () => {
    const ctx = systemContext('test');
    const bob = person('p-bob', 'bob@example.com');
    await expect(
      reviews.decide(campaignId, { identityId: ids.alice!, decision: 'revoke' }, bob, ctx),
    ).rejects.toMatchObject({
      code: 'TESSERA_REVIEW_NOT_OWNER',
    });
    const alice = person('p-alice', 'alice@example.com');
    const kept = await reviews.decide(campaignId, { identityId: ids.alice!, decision: 'keep' }, alice, ctx);
    expect(kept).toMatchObject({ decision: 'keep', decidedBy: 'person:p-alice', outcome: 'certified' });
    // The owner's person still cannot decide Bob's identity.
    await expect(
      reviews.decide(campaignId, { identityId: ids.bob!, decision: 'keep' }, alice, ctx),
    ).rejects.toMatchObject({
      code: 'TESSERA_REVIEW_NOT_OWNER',
    });
  });

  it('a member of the owner group decides; an owner string naming no person leaves it to administrators', async () => {
    const ctx = systemContext('test');
    const outsider = person('p-out', 'out@example.com', ['other']);
    await expect(
      reviews.decide(campaignId, { identityId: ids.team!, decision: 'keep' }, outsider, ctx),
    ).rejects.toMatchObject({
      code: 'TESSERA_REVIEW_NOT_OWNER',
    });
    const member = person('p-mem', 'mem@example.com', [`team-${tag}`]);
    expect(
      (await reviews.decide(campaignId, { identityId: ids.team!, decision: 'keep' }, member, ctx)).decidedBy,
    ).toBe('person:p-mem');
    await expect(
      reviews.decide(campaignId, { identityId: ids.nobody!, decision: 'keep' }, member, ctx),
    ).rejects.toMatchObject({
      code: 'TESSERA_REVIEW_NOT_OWNER',
    });
    // The administrator (the bootstrap key, over HTTP) decides any item.
    const r = await ok('POST', `/v1/reviews/${campaignId}/decisions`, {
      identityId: ids.nobody,
      decision: 'keep',
    });
    expect(r.decision).toBe('keep');
    expect(r.decidedBy).toMatch(/^identity:/);
  });

  it('holds its governance.* events to the audit catalogue', async () => {
    await expectPrefixCatalogued(s.tessera.store.db, 'governance.', [
      'governance.review_refused',
      'governance.review_decided',
    ]);
  });
});

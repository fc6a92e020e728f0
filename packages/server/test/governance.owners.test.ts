import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const tag = Math.random().toString(36).slice(2, 7);

/**
 * Issue 14 with 16: once people sign in, an identity whose owner is neither a known person nor an
 * IdP group of one is NHI1 `owner-unreachable` (an owner approval could never be decided).
 */
describe('owner reachability (NHI1)', () => {
  let s: TestServer;
  const findingsOf = async (id: string) =>
    (
      (await s.call('GET', `/v1/inventory/${id}`, { token: s.adminToken })).body.findings as {
        rule: string;
        owasp: string;
        severity: string;
        evidence: { owner: string };
      }[]
    ).filter((f) => f.rule.startsWith('owner-') || f.rule === 'no-owner');
  const identity = async (name: string, owner: string) => {
    const r = await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: `${name}-${tag}`, kind: 'service', owner },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('while nobody has signed in, free-text owners are not flagged', async () => {
    const id = await identity('legacy', 'team-payments');
    expect(await findingsOf(id)).toEqual([]);
  });

  it('with people known: a known person or group is reachable; an unknown person, group or free text is not', async () => {
    await s.tessera.store.db
      .insertInto('people' as never)
      .values({
        id: 'h-ada',
        issuer: 'https://idp.test',
        subject: 'ada-sub',
        email: 'ada@example.com',
        name: 'Ada',
        groups_json: JSON.stringify(['dba']),
        auth_method_id: `am-ada-${tag}`,
        created_at_ms: Date.now(),
        last_login_at_ms: Date.now(),
      } as never)
      .execute();
    const byEmail = await identity('by-email', 'person:ada@example.com');
    const byId = await identity('by-id', 'person:h-ada');
    const byGroup = await identity('by-group', 'group:dba');
    for (const id of [byEmail, byId, byGroup]) expect(await findingsOf(id)).toEqual([]);

    for (const owner of [
      'person:gone@example.com',
      'group:nobody-here',
      'team-payments',
      'ada@example.com',
    ]) {
      const id = await identity(`unreachable-${owner.replace(/[^a-z]/g, '')}`, owner);
      expect(await findingsOf(id), owner).toEqual([
        expect.objectContaining({
          rule: 'owner-unreachable',
          owasp: 'NHI1',
          severity: 'medium',
          evidence: { owner },
        }),
      ]);
    }
    // No owner at all stays `no-owner`, not both.
    const none = await identity('none', 'unassigned');
    expect((await findingsOf(none)).map((f) => f.rule)).toEqual(['no-owner']);
  });

  it('a person who is gone (no longer known) leaves their identities unreachable, and the scan records it', async () => {
    const id = await identity('left', 'person:ada@example.com');
    expect(await findingsOf(id)).toEqual([]);
    await s.tessera.store.db
      .deleteFrom('people' as never)
      .where('id' as never, '=', 'h-ada' as never)
      .execute();
    // Nobody known any more: the directory is empty, so nothing is judged (as before anyone signed in).
    expect(await findingsOf(id)).toEqual([]);
    await s.tessera.store.db
      .insertInto('people' as never)
      .values({
        id: 'h-bob',
        issuer: 'https://idp.test',
        subject: 'bob-sub',
        email: 'bob@example.com',
        name: 'Bob',
        groups_json: '[]',
        auth_method_id: `am-bob-${tag}`,
        created_at_ms: Date.now(),
        last_login_at_ms: Date.now(),
      } as never)
      .execute();
    expect((await findingsOf(id)).map((f) => f.rule)).toEqual(['owner-unreachable']);
    const scan = await s.call('POST', '/v1/governance/scan', { token: s.adminToken });
    expect(scan.status).toBe(200);
    const stored = await s.call('GET', '/v1/governance/findings?limit=500', { token: s.adminToken });
    expect(
      stored.body.items.some(
        (f: { rule: string; identityId: string }) => f.rule === 'owner-unreachable' && f.identityId === id,
      ),
    ).toBe(true);
  });
});

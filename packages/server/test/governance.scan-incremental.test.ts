import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSlice, UsageRow } from '../src/capabilities/governance/governance.repo.js';
import { foldUsage, mergeUsage } from '../src/capabilities/governance/governance.usage.js';
import { adminSession, STORES, startTestServer, type TestServer } from './harness.js';

/**
 * ADR 0054: a scan rewrites an identity's findings only when what it found for it (keys, severity,
 * evidence) differs from what it last wrote; the others are seen through the scan's watermark. An
 * identity whose inputs changed — its owner, its credential's age as time passes — IS rewritten.
 */
describe.each(STORES)('incremental posture scans on %s', (store) => {
  let s: TestServer;
  let admin: string;
  const tag = Math.random().toString(36).slice(2, 7);
  const ok = async (method: string, url: string, body?: unknown) => {
    const r = await s.call(method, url, { token: admin, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const scan = () => ok('POST', '/v1/governance/scan');
  const stored = async (identityId: string) => {
    const out: any[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await ok(
        'GET',
        `/v1/governance/findings?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      out.push(...page.items.filter((f: any) => f.identityId === identityId));
      cursor = page.nextCursor;
      if (!cursor) return out.sort((a, b) => a.rule.localeCompare(b.rule));
    }
  };
  const keyed = async (name: string) => {
    const ident = await ok('POST', '/v1/identities', { name, kind: 'service', owner: 'team-a' });
    await ok('POST', '/v1/auth-methods', { type: 'access_key', name: `${name}-key`, identityId: ident.id });
    return ident.id as string;
  };
  let changing: string;
  let steady: string;

  beforeAll(async () => {
    s = await startTestServer(store);
    admin = s.adminToken;
    changing = await keyed(`${tag}/changing`);
    steady = await keyed(`${tag}/steady`);
  }, 60_000);
  afterAll(async () => s?.close());

  it('rewrites the identity whose owner changed, and only sees the other one again', async () => {
    await scan();
    const before = await stored(steady);
    expect(before.map((f) => f.rule)).toEqual(['static-access-key']);
    expect((await stored(changing)).map((f) => f.rule)).toEqual(['static-access-key']);

    s.clock.advance(3600);
    admin = await adminSession(s);
    await ok('PATCH', `/v1/identities/${changing}`, { owner: 'unassigned' });
    const second = await scan();
    expect(second).toMatchObject({ opened: 1, resolved: 0 });
    expect((await stored(changing)).map((f) => f.rule)).toEqual(['no-owner', 'static-access-key']);
    // The steady identity's finding was not rewritten, yet the scan saw it: first seen stays, last
    // seen is the second scan's.
    const after = await stored(steady);
    expect(after).toHaveLength(1);
    expect(after[0].firstSeenAt).toBe(before[0].firstSeenAt);
    expect(Date.parse(after[0].lastSeenAt)).toBe(s.clock.nowMs());
    expect(Date.parse(after[0].lastSeenAt)).toBeGreaterThan(Date.parse(before[0].lastSeenAt));

    await ok('PATCH', `/v1/identities/${changing}`, { owner: 'team-a' });
    expect(await scan()).toMatchObject({ opened: 0, resolved: 1 });
    expect((await stored(changing)).map((f) => f.rule)).toEqual(['static-access-key']);
  });

  it('rewrites evidence that changed with time alone (a static secret one day older)', async () => {
    s.clock.advance(91 * 86_400);
    admin = await adminSession(s);
    await scan();
    const stale = (await stored(steady)).find((f) => f.rule === 'stale-static-secret');
    expect(stale?.evidence).toMatchObject({ ageDays: 91, maxAgeDays: 90 });
    s.clock.advance(86_400);
    admin = await adminSession(s);
    expect(await scan()).toMatchObject({ opened: 0, resolved: 0 });
    for (const id of [steady, changing])
      expect((await stored(id)).find((f) => f.rule === 'stale-static-secret')?.evidence).toMatchObject({
        ageDays: 92,
      });
  });
});

describe('a fold window merges usage as batch-by-batch upserts would', () => {
  const event = (seq: number, at: number, resource: string): AuditSlice => ({
    seq,
    at,
    type: 'access.granted',
    actor: '{"identityId":"i-1"}',
    resource,
    data: '{"resourceType":"item","action":"read"}',
    source_ip: null,
  });
  /** The store's upsert: counts add, the last use is the latest, the first use stays the first row's. */
  const upsert = (table: Map<string, UsageRow>, rows: UsageRow[]) => {
    for (const u of rows) {
      const key = `${u.identityId}|${u.kind}|${u.subject}|${u.detail}`;
      const have = table.get(key);
      if (!have) table.set(key, { ...u });
      else table.set(key, { ...have, count: have.count + u.count, lastAt: Math.max(have.lastAt, u.lastAt) });
    }
  };
  it('counts, first and last use match', () => {
    const batches = [
      [event(1, 500, '/a'), event(2, 100, '/b')],
      [event(3, 50, '/a'), event(4, 900, '/a'), event(5, 300, '/b')],
      [event(6, 200, '/c')],
    ];
    const oneByOne = new Map<string, UsageRow>();
    for (const b of batches) upsert(oneByOne, foldUsage(b));
    const window = new Map<string, UsageRow>();
    for (const b of batches) mergeUsage(window, foldUsage(b));
    const merged = new Map<string, UsageRow>();
    upsert(merged, [...window.values()]);
    expect([...merged.values()]).toEqual([...oneByOne.values()]);
    expect(merged.get('i-1|perm|item|read|/a')).toMatchObject({ count: 3, firstAt: 500, lastAt: 900 });
  });
});

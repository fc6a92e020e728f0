import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditHasher } from '../src/crypto/audit-hash.js';
import { STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

interface WireEvent {
  seq: number;
  id: string;
  at: string;
  type: string;
  outcome: string;
  actor: Record<string, string | null>;
  resource: string | null;
  reason: string | null;
  requestId: string | null;
  sourceIp: string | null;
  data: Record<string, unknown>;
}

const EVENT_KEYS = [
  'actor',
  'at',
  'data',
  'id',
  'outcome',
  'reason',
  'requestId',
  'resource',
  'seq',
  'sourceIp',
  'type',
];
const ACTOR_KEYS = ['authMethodId', 'credentialRef', 'identityId', 'tokenId', 'uidNodeId'];

/** The audit query API (`GET /v1/audit/events`) and audit hash (`POST /v1/audit/hash`), on every store. */
describe.each(STORES)('audit query on %s', (store) => {
  let s: TestServer;
  let uid: Awaited<ReturnType<typeof uidSetup>>;
  let uidSession: string;
  let uidIdentityId: string;
  let identityName: string;
  /** Clock times around the middle of the fixture, for since/until. */
  let midMs: number;

  const events = async (query = '', token = s.adminToken) => {
    const r = await s.call('GET', `/v1/audit/events${query ? `?${query}` : ''}`, { token });
    return r as { status: number; body: { items: WireEvent[]; nextCursor: string | null } & any };
  };
  const ok = async (query = '') => {
    const r = await events(query);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { items: WireEvent[]; nextCursor: string | null };
  };

  beforeAll(async () => {
    s = await startTestServer(store, { TESSERA_AUTH_FAILURE_LIMIT: '1000' });
    // A failed sign-in with a wrong key, one with an unknown access id.
    s.clock.advance(10);
    expect(
      (
        await s.call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: 'tak-wrong' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await s.call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: 'p-doesnotexist', accessKey: 'tak-wrong' },
        })
      ).status,
    ).toBe(401);
    s.clock.advance(10);
    midMs = s.clock.ms;
    // A UID method, a root token, a session from it, and a refused rotation with a made-up token.
    uid = await uidSetup(s);
    const auth = await uidAuth(s, uid.root.token);
    expect(auth.status).toBe(200);
    uidSession = auth.body.token;
    uidIdentityId = auth.body.identityId;
    const bogus = `u-${'A'.repeat(49)}`;
    expect((await s.call('POST', '/v1/uid/rotate', { token: bogus })).status).toBe(401);
    s.clock.advance(10);
    identityName = `audit/q-${Math.random().toString(36).slice(2, 8)}`;
    const created = await s.call('POST', '/v1/identities', {
      token: s.adminToken,
      body: { name: identityName, kind: 'service', owner: 'o' },
    });
    expect(created.status).toBe(201);
    // Reading the ledger is itself audited: the first read writes an `access.granted` event, and
    // the reads that follow within the minute are collapsed into it (so the ledger holds still
    // while the tests below page and filter it).
    await ok('limit=1');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lists newest first, as an allow-list of fields with ISO times', async () => {
    const page = await ok();
    expect(page.items.length).toBeGreaterThanOrEqual(8);
    const seqs = page.items.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    for (const e of page.items) {
      expect(Object.keys(e).sort()).toEqual(EVENT_KEYS);
      expect(Object.keys(e.actor).sort()).toEqual(ACTOR_KEYS);
      expect(e.at).toBe(new Date(Date.parse(e.at)).toISOString());
      expect(e.data.v).toBe(1);
    }
    expect(page.items[0]).toMatchObject({
      type: 'access.granted',
      resource: '/events',
      actor: { identityId: expect.any(String) },
    });
    expect(page.items[1]!.type).toBe('identity.created');
    expect(page.items[1]!.resource).toBe(`/identities/${identityName}`);
    expect(page.nextCursor).toBeNull();
    // The reason of a failed sign-in is there for the operator (never in the 401 itself).
    const wrongKey = page.items.find((e) => e.type === 'auth.failed' && e.reason === 'wrong_access_key');
    expect(wrongKey?.actor.authMethodId).toBe(s.adminAccessId);
    expect(wrongKey?.requestId).toMatch(/^req-/);
    expect(wrongKey?.sourceIp).toBe('127.0.0.1');
  });

  it('pages newest first with a cursor, every event exactly once', async () => {
    const all = (await ok('limit=500')).items.map((e) => e.seq);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await ok(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor;
      expect(++pages).toBeLessThan(50);
    } while (cursor);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 3));
  });

  it('follows oldest first after a sequence number, with no cursor', async () => {
    const first = await ok('afterSeq=0&limit=4');
    expect(first.items.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(first.nextCursor).toBeNull();
    const newest = (await ok('limit=1')).items[0]!.seq;
    const rest = await ok(`afterSeq=4&limit=500`);
    expect(rest.items.map((e) => e.seq)).toEqual(Array.from({ length: newest - 4 }, (_, i) => i + 5));
    expect((await ok(`afterSeq=${newest}`)).items).toEqual([]);
    // A new event shows up after the last seq seen.
    await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: 'p-doesnotexist', accessKey: 'x' },
    });
    const next = await ok(`afterSeq=${newest}&type=auth.failed`);
    expect(next.items).toHaveLength(1);
    expect(next.items[0]).toMatchObject({
      seq: newest + 1,
      type: 'auth.failed',
      reason: 'unknown_access_id',
    });
  });

  it('filters by outcome, exact type, type prefix and several types', async () => {
    const failures = (await ok('outcome=failure')).items;
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.every((e) => e.outcome === 'failure')).toBe(true);

    const exact = (await ok('type=auth.failed')).items;
    expect(exact.length).toBeGreaterThanOrEqual(2);
    expect(exact.every((e) => e.type === 'auth.failed')).toBe(true);

    const prefix = (await ok('type=uid.token.*')).items;
    expect(new Set(prefix.map((e) => e.type))).toEqual(new Set(['uid.token.generated', 'uid.token.rotated']));

    const refused = (await ok(`type=${encodeURIComponent('auth.failed,uid.*')}&outcome=failure`)).items;
    expect(new Set(refused.map((e) => e.type))).toEqual(new Set(['auth.failed', 'uid.token.rotated']));
    expect(refused.find((e) => e.type === 'uid.token.rotated')?.reason).toBe('malformed_uid_token');

    // `_` is not a wildcard and matching is case-sensitive, on both stores.
    expect((await ok('type=auth_method.*')).items.map((e) => e.type)).toContain('auth_method.created');
    expect((await ok('type=auth.method.*')).items).toEqual([]);
    expect((await ok('type=AUTH.*')).items).toEqual([]);
    expect((await ok('type=auth')).items).toEqual([]);
  });

  it('filters by acting identity, auth method and resource prefix', async () => {
    const byIdentity = (await ok(`identityId=${uidIdentityId}`)).items;
    expect(byIdentity.length).toBeGreaterThanOrEqual(1);
    expect(byIdentity.every((e) => e.actor.identityId === uidIdentityId)).toBe(true);
    expect(byIdentity.map((e) => e.type)).toContain('auth.succeeded');

    const byMethod = (await ok(`authMethodId=${uid.method.id}`)).items;
    expect(byMethod.length).toBeGreaterThanOrEqual(1);
    expect(byMethod.every((e) => e.actor.authMethodId === uid.method.id)).toBe(true);

    const admin = (await ok(`authMethodId=${s.adminAccessId}&type=auth.failed`)).items;
    expect(admin.map((e) => e.reason)).toEqual(['wrong_access_key']);

    const identities = (await ok(`resourcePrefix=${encodeURIComponent('/identities/audit/')}`)).items;
    expect(identities.map((e) => e.resource)).toEqual([`/identities/${identityName}`]);
    expect((await ok(`resourcePrefix=${encodeURIComponent('/IDENTITIES/')}`)).items).toEqual([]);
    expect((await ok('identityId=i-nobody')).items).toEqual([]);
  });

  it('filters by time: since inclusive, until exclusive', async () => {
    const mid = new Date(midMs).toISOString();
    const after = (await ok(`since=${mid}&limit=500`)).items;
    const before = (await ok(`until=${mid}&limit=500`)).items;
    const all = (await ok('limit=500')).items;
    expect(after.length + before.length).toBe(all.length);
    expect(after.every((e) => Date.parse(e.at) >= midMs)).toBe(true);
    expect(before.every((e) => Date.parse(e.at) < midMs)).toBe(true);
    expect(before.map((e) => e.type)).toContain('auth.failed');
    expect(after.map((e) => e.type)).toContain('uid.token.generated');
    const window = (
      await ok(`since=${mid}&until=${new Date(midMs + 10_000).toISOString()}&type=identity.created`)
    ).items;
    expect(window).toEqual([]);
  });

  it('refuses callers without the audit permission', async () => {
    expect((await events('', uidSession)).status).toBe(403);
    expect((await events('', uidSession)).body.error.code).toBe('TESSERA_FORBIDDEN');
    const hash = await s.call('POST', '/v1/audit/hash', { token: uidSession, body: { value: 'x' } });
    expect(hash.status).toBe(403);
    expect((await s.call('GET', '/v1/audit/events')).status).toBe(401);
  });

  it.each([
    'limit=0',
    'limit=501',
    'limit=ten',
    'outcome=bogus',
    'type=uid.**',
    'type=*',
    'type=a,,b',
    `type=${Array.from({ length: 11 }, (_, i) => `t${i}`).join(',')}`,
    'type=uid%20token',
    'since=yesterday',
    'until=2026-13-01T00:00:00Z',
    'since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z',
    'afterSeq=-1',
    'afterSeq=1.5',
    'cursor=abc',
    'cursor=0',
    'cursor=5&afterSeq=1',
    'bogus=1',
    `resourcePrefix=${'x'.repeat(501)}`,
  ])('refuses %s with 400', async (query) => {
    const r = await events(query);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
  });

  describe('audit hash', () => {
    const hash = async (value: unknown, server = s) => {
      const token = server.adminToken;
      return server.call('POST', '/v1/audit/hash', { token, body: { value } });
    };

    it('is a stable keyed HMAC, never the plain SHA-256', async () => {
      const a = await hash('tak-some-credential');
      expect(a.status).toBe(200);
      expect(Object.keys(a.body)).toEqual(['hash']);
      expect(a.body.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect((await hash('tak-some-credential')).body.hash).toBe(a.body.hash);
      expect((await hash('tak-some-credentiaL')).body.hash).not.toBe(a.body.hash);
      const plain = createHash('sha256').update('tak-some-credential').digest('hex');
      expect(a.body.hash).not.toContain(plain);
      expect(a.body.hash.slice('hmac-sha256:'.length)).not.toBe(plain);
      expect((await hash('')).body.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    });

    it('refuses values over 4096 characters and non-strings', async () => {
      expect((await hash('x'.repeat(4096))).status).toBe(200);
      expect((await hash('x'.repeat(4097))).status).toBe(400);
      expect((await hash(42)).status).toBe(400);
      expect((await s.call('POST', '/v1/audit/hash', { token: s.adminToken, body: {} })).status).toBe(400);
    });

    it('is the same for servers sharing a root key and differs across root keys', async () => {
      const key = randomBytes(32).toString('base64');
      const one = await startTestServer(store, { TESSERA_ROOT_KEY: key });
      try {
        const theirs = (await hash('shared-value', one)).body.hash;
        const ours = (await hash('shared-value')).body.hash;
        expect(theirs).not.toBe(ours);
        const material = Buffer.from(key, 'base64');
        expect(createAuditHasher({ id: 'k', material }).hash('shared-value')).toBe(theirs);
      } finally {
        await one.close();
      }
    });
  });
});

describe('createAuditHasher', () => {
  it('derives its key from the root key only', () => {
    const k1 = { id: 'a', material: Buffer.alloc(32, 1) };
    const k2 = { id: 'b', material: Buffer.alloc(32, 2) };
    expect(createAuditHasher(k1).hash('v')).toBe(createAuditHasher({ ...k1, id: 'other' }).hash('v'));
    expect(createAuditHasher(k1).hash('v')).not.toBe(createAuditHasher(k2).hash('v'));
    // Not a plain SHA-256, nor an HMAC keyed with the root key itself: the key is derived (HKDF).
    const plain = createHash('sha256').update('v').digest('hex');
    const rootKeyed = createHmac('sha256', k1.material).update('v').digest('hex');
    expect(createAuditHasher(k1).hash('v')).not.toBe(`hmac-sha256:${plain}`);
    expect(createAuditHasher(k1).hash('v')).not.toBe(`hmac-sha256:${rootKeyed}`);
  });
});

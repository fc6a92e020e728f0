import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer } from './harness.js';

/** The identity inventory (DESIGN §1) over HTTP, on every store. */
describe.each(STORES)('identities on %s', (store) => {
  let s: TestServer;
  let token: string;
  beforeAll(async () => {
    s = await startTestServer(store);
    token = s.adminToken;
  });
  afterAll(async () => {
    await s?.close();
  });

  const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
  const create = (body: Record<string, unknown>) => s.call('POST', '/v1/identities', { token, body });
  const get = (id: string) => s.call('GET', `/v1/identities/${id}`, { token });
  const patch = (id: string, body: Record<string, unknown>) =>
    s.call('PATCH', `/v1/identities/${id}`, { token, body });
  const retire = (id: string) => s.call('POST', `/v1/identities/${id}/retire`, { token });
  const list = (query: string) => s.call('GET', `/v1/identities?${query}`, { token });
  const iso = () => new Date(s.clock.ms).toISOString();

  /** Every page of a listing, following the cursor. */
  async function listAll(query: string, limit: number) {
    const pages: Array<{ items: Array<{ id: string }>; nextCursor: string | null }> = [];
    let cursor: string | null = null;
    do {
      const r = await list(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      pages.push(r.body);
      cursor = r.body.nextCursor;
      expect(pages.length).toBeLessThan(100);
    } while (cursor);
    return pages;
  }

  it('creates an identity with defaults, normalised tags and times', async () => {
    const name = unique('inventory/payments');
    const r = await create({ name, kind: 'service', owner: 'team-payments', tags: ['prod', 'pci', 'prod'] });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^i-[a-z2-7]{20}$/),
      name,
      kind: 'service',
      owner: 'team-payments',
      environment: null,
      description: null,
      tags: ['pci', 'prod'],
      state: 'active',
      createdAt: iso(),
      updatedAt: iso(),
      lastUsedAt: null,
      retiredAt: null,
    });
    const got = await get(r.body.id);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', 'identity.created')
      .execute();
    expect(events.some((e) => JSON.parse(e.data).identityId === r.body.id)).toBe(true);
  });

  it('accepts every kind and refuses unknown ones', async () => {
    for (const kind of ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other']) {
      const r = await create({ name: unique(`kinds/${kind}`), kind, owner: 'o' });
      expect(r.status, kind).toBe(201);
      expect(r.body.kind).toBe(kind);
    }
    const bad = await create({ name: unique('kinds/x'), kind: 'human', owner: 'o' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
  });

  it('accepts a name with a leading "/", as the schema and auth-method-created identities do', async () => {
    // POST /v1/auth-methods creates identities named like the method, e.g. "/prod/db"; the
    // published schema (Name) allows a leading "/"; so must this route.
    const name = unique('/inventory/leading');
    const r = await create({ name, kind: 'service', owner: 'o' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.name).toBe(name);
  });

  it.each([
    '../etc/passwd',
    'a//b',
    'a/../b',
    '/',
    '',
    'with space',
    'semi;colon',
    'x'.repeat(201),
  ])('refuses the name %j', async (name) => {
    const r = await create({ name, kind: 'service', owner: 'o' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
  });

  it('answers 404 TESSERA_NOT_FOUND for an unknown id', async () => {
    for (const r of [
      await get('i-doesnotexist'),
      await patch('i-doesnotexist', { owner: 'x' }),
      await retire('i-doesnotexist'),
    ]) {
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('TESSERA_NOT_FOUND');
    }
  });

  it('refuses a duplicate name with 409 TESSERA_CONFLICT, also when the requests race', async () => {
    const name = unique('dup/db');
    expect((await create({ name, kind: 'service', owner: 'a' })).status).toBe(201);
    const again = await create({ name, kind: 'workload', owner: 'b' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TESSERA_CONFLICT');

    const raced = unique('dup/race');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => create({ name: raced, kind: 'service', owner: `o${i}` })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('TESSERA_CONFLICT');
    }
    const listed = await list(`owner=${results.find((r) => r.status === 201)!.body.owner}&limit=500`);
    expect(listed.body.items.filter((i: { name: string }) => i.name === raced)).toHaveLength(1);
  });

  it('pages through 120 identities, 50 at a time, in id order, with no gap or repeat', async () => {
    const owner = unique('pager');
    const created = new Set<string>();
    for (let i = 0; i < 120; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          create({ name: `paging/${owner}/n${i + j}`, kind: 'workload', owner }),
        ),
      );
      for (const r of batch) {
        expect(r.status).toBe(201);
        created.add(r.body.id);
      }
    }
    const pages = await listAll(`owner=${owner}`, 50);
    expect(pages.map((p) => p.items.length)).toEqual([50, 50, 20]);
    expect(pages.map((p) => p.nextCursor === null)).toEqual([false, false, true]);
    const ids = pages.flatMap((p) => p.items.map((i) => i.id));
    expect(new Set(ids).size).toBe(120);
    expect(new Set(ids)).toEqual(created);
    expect(ids).toEqual([...ids].sort());

    // An exact multiple of the page size ends without an empty trailing page.
    const byForty = await listAll(`owner=${owner}`, 40);
    expect(byForty.map((p) => p.items.length)).toEqual([40, 40, 40]);
    // Default page size is 50; the upper bound is enforced.
    expect((await list(`owner=${owner}`)).body.items).toHaveLength(50);
    expect((await list(`owner=${owner}&limit=501`)).status).toBe(400);
    expect((await list(`owner=${owner}&limit=0`)).status).toBe(400);
  });

  it('keeps paging stable when identities are created between pages', async () => {
    const owner = unique('stable');
    for (let i = 0; i < 10; i++) await create({ name: `stable/${owner}/n${i}`, kind: 'device', owner });
    const first = await list(`owner=${owner}&limit=5`);
    for (let i = 10; i < 15; i++) await create({ name: `stable/${owner}/n${i}`, kind: 'device', owner });
    const rest = await listAll(`owner=${owner}&cursor=${first.body.nextCursor}`, 100);
    const seen = [...first.body.items, ...rest.flatMap((p) => p.items)].map((i: { id: string }) => i.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(15);
  });

  it('filters by kind, owner, tag and state, alone and combined', async () => {
    const owner = unique('filters');
    const other = unique('filters-other');
    const mk = async (n: string, kind: string, tags: string[], who = owner) => {
      const r = await create({ name: `filters/${owner}/${n}`, kind, owner: who, tags });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const a = await mk('a', 'service', ['env:prod', 'team:x']);
    const b = await mk('b', 'ai-agent', ['env:prod']);
    const c = await mk('c', 'ai-agent', ['env:dev']);
    const d = await mk('d', 'service', ['env:dev'], other);
    const e = await mk('e', 'ci-pipeline', []);
    expect((await patch(c, { state: 'suspended' })).status).toBe(200);
    expect((await retire(e)).status).toBe(200);

    const ids = async (query: string) => {
      const r = await list(`${query}&limit=500`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.items as Array<{ id: string }>).map((i) => i.id).sort();
    };
    const sorted = (...xs: string[]) => xs.sort();
    expect(await ids(`owner=${owner}`)).toEqual(sorted(a, b, c, e));
    expect(await ids(`owner=${owner}&kind=ai-agent`)).toEqual(sorted(b, c));
    expect(await ids(`owner=${owner}&kind=service`)).toEqual([a]);
    expect(await ids(`owner=${owner}&tag=env:prod`)).toEqual(sorted(a, b));
    expect(await ids(`owner=${owner}&tag=team:x`)).toEqual([a]);
    expect(await ids(`owner=${owner}&state=suspended`)).toEqual([c]);
    expect(await ids(`owner=${owner}&state=retired`)).toEqual([e]);
    expect(await ids(`owner=${owner}&state=active`)).toEqual(sorted(a, b));
    expect(await ids(`owner=${owner}&kind=ai-agent&tag=env:prod&state=active`)).toEqual([b]);
    expect(await ids(`owner=${owner}&kind=device`)).toEqual([]);
    expect(await ids(`owner=${owner}&tag=nope`)).toEqual([]);
    // The tag filter spans owners.
    const dev = await ids('tag=env:dev');
    expect(dev).toContain(c);
    expect(dev).toContain(d);
    expect(await ids(`owner=${other}`)).toEqual([d]);
  });

  it('updates owner, environment, description, tags and state; keeps what is not sent', async () => {
    const r = await create({
      name: unique('update/x'),
      kind: 'service',
      owner: 'first',
      environment: 'dev',
      description: 'before',
      tags: ['a'],
    });
    const created = r.body;
    s.clock.advance(60);
    const u = await patch(created.id, { owner: 'second', tags: ['z', 'b', 'z'] });
    expect(u.status).toBe(200);
    expect(u.body).toEqual({
      ...created,
      owner: 'second',
      tags: ['b', 'z'],
      updatedAt: iso(),
    });
    const cleared = await patch(created.id, { environment: null, description: null, tags: [] });
    expect(cleared.body).toMatchObject({ environment: null, description: null, tags: [], owner: 'second' });
    expect((await get(created.id)).body).toEqual(cleared.body);

    expect((await patch(created.id, {})).status).toBe(400); // nothing to change
    expect((await patch(created.id, { name: 'renamed' })).status).toBe(400); // names are fixed
    expect((await patch(created.id, { state: 'retired' })).status).toBe(400); // retirement has its own route
  });

  it('retires: terminal, idempotent, and refuses later updates with 409', async () => {
    const r = await create({ name: unique('retire/x'), kind: 'device', owner: 'o' });
    s.clock.advance(5);
    const retired = await retire(r.body.id);
    expect(retired.status).toBe(200);
    expect(retired.body).toMatchObject({ state: 'retired', retiredAt: iso(), updatedAt: iso() });

    s.clock.advance(5);
    const again = await retire(r.body.id);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(retired.body);

    for (const body of [{ state: 'active' }, { state: 'suspended' }, { owner: 'new' }, { tags: ['x'] }]) {
      const u = await patch(r.body.id, body);
      expect(u.status, JSON.stringify(body)).toBe(409);
      expect(u.body.error.code).toBe('TESSERA_CONFLICT');
    }
    expect((await get(r.body.id)).body).toEqual(retired.body);
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['type', 'data'])
      .where('type', '=', 'identity.retired')
      .execute();
    expect(events.filter((e) => JSON.parse(e.data).identityId === r.body.id)).toHaveLength(1);
  });

  it('sets lastUsedAt after authentication once the tracker flushes, and only moves it forward', async () => {
    token = await adminSession(s);
    const identity = (await create({ name: unique('used/x'), kind: 'service', owner: 'o' })).body;
    const method = await s.call('POST', '/v1/auth-methods', {
      token,
      body: { type: 'access_key', name: unique('used/key'), identityId: identity.id },
    });
    expect(method.status).toBe(201);
    expect(method.body.authMethod.identityId).toBe(identity.id);
    const signIn = () =>
      s.call('POST', '/v1/auth', {
        body: {
          accessType: 'access_key',
          accessId: method.body.authMethod.id,
          accessKey: method.body.accessKey,
        },
      });

    s.clock.advance(30);
    const firstUse = iso();
    expect((await signIn()).status).toBe(200);
    expect((await get(identity.id)).body.lastUsedAt).toBeNull(); // batched, not written per request
    await s.tessera.flushLastUsed();
    expect((await get(identity.id)).body.lastUsedAt).toBe(firstUse);

    s.clock.advance(30);
    const secondUse = iso();
    expect((await signIn()).status).toBe(200);
    expect((await signIn()).status).toBe(200);
    expect(await s.tessera.flushLastUsed()).toBeGreaterThanOrEqual(1);
    expect((await get(identity.id)).body.lastUsedAt).toBe(secondUse);

    // A failed authentication is not a use.
    s.clock.advance(30);
    const wrong = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: method.body.authMethod.id, accessKey: 'tak-wrong' },
    });
    expect(wrong.status).toBe(401);
    await s.tessera.flushLastUsed();
    expect((await get(identity.id)).body.lastUsedAt).toBe(secondUse);
    token = await adminSession(s);
  });
});

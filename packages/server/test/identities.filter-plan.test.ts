import type { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernanceRepo } from '../src/capabilities/governance/governance.repo.js';
import { migrate, type Store } from '../src/storage/database.js';
import { createIdentityRepo } from '../src/storage/repos/identities.repo.js';
import { STORES } from './harness.js';
import { openPlanStore } from './plan-store.js';

/**
 * Issue 19 (scale), also: a tag filter deep in the list took ~40 ms on PostgreSQL at 1,000,000
 * identities: `id > cursor` was not carried into the tag subquery, so its index was read from the
 * tag's first entry on every page. The subquery must carry the cursor itself.
 *
 * `GET /v1/identities?state=retired` took ~200 ms at 1,000,000 identities on SQLite
 * (bench/scale-identities.mjs): with no index on `state`, the page walked the primary key until it had
 * 50 retired identities. The identity list and the inventory (which also filters by environment) must
 * read a state or environment filter as an index search in id order: no table scan, no sort (on
 * SQLite, which has no statistics: Tessera never runs ANALYZE), and return the right page on both
 * stores.
 */
const ENVS = ['production', 'staging', 'dev'] as const;
const rows = Array.from({ length: 30 }, (_, i) => ({
  id: `i-${String(i).padStart(3, '0')}`,
  name: `team/svc-${i}`,
  kind: 'service',
  owner: `team-${i % 3}`,
  environment: ENVS[i % 3]!,
  description: null,
  state: i % 7 === 3 ? 'retired' : 'active',
  created_at: 1_000 + i,
  updated_at: 1_000 + i,
  retired_at: i % 7 === 3 ? 2_000 + i : null,
  last_used_at: null,
}));
const TAGGED = new Set(rows.filter((_, i) => i % 4 === 1).map((r) => r.id));
const idsWhere = (p: (r: (typeof rows)[number]) => boolean, after: string | null, limit: number) =>
  rows
    .filter((r) => p(r) && (after === null || r.id > after))
    .map((r) => r.id)
    .slice(0, limit);

describe.each(STORES)('identity list filters on %s', (kind) => {
  let queries: CompiledQuery[] = [];
  let store: Store;
  let explain: ((q: CompiledQuery) => Promise<string[]>) | null = null;
  let drop: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    ({ store, queries, explain, drop } = await openPlanStore(kind));
    await migrate(store);
    await store.db.insertInto('identities').values(rows).execute();
    await store.db
      .insertInto('identity_tags')
      .values([...TAGGED].map((identity_id) => ({ identity_id, tag: 'pci' })))
      .execute();
  });

  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  const target = () => ({ db: store.db, dialect: store.dialect, direct: null });
  /** The one query on `identities` among those sent by `call`, with the rows `call` returned. */
  const run = async <T>(call: () => Promise<T>) => {
    queries.length = 0;
    const result = await call();
    const sent = queries.filter((q) => /from "identities"/.test(q.sql));
    expect(sent).toHaveLength(1);
    return { result, query: sent[0]! };
  };
  const expectIndexSearch = async (query: CompiledQuery, index: string, column: string) => {
    if (!explain) return;
    const plan = (await explain(query)).join('\n');
    expect(plan).toMatch(new RegExp(`SEARCH identities USING INDEX ${index} \\(${column}=\\?`));
    expect(plan).not.toMatch(/SCAN identities|TEMP B-TREE/);
  };

  it('lists retired identities (GET /v1/identities?state=retired) through identities_state_idx', async () => {
    const { result, query } = await run(() =>
      createIdentityRepo(target()).list({ state: 'retired' }, 3, null),
    );
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => r.state === 'retired', null, 3));
    await expectIndexSearch(query, 'identities_state_idx', 'state');
  });

  it('pages on after a cursor in the same index', async () => {
    const { result, query } = await run(() =>
      createIdentityRepo(target()).list({ state: 'retired' }, 3, 'i-010'),
    );
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => r.state === 'retired', 'i-010', 3));
    await expectIndexSearch(query, 'identities_state_idx', 'state');
  });

  it('reads an inventory page filtered by state through identities_state_idx', async () => {
    const { result, query } = await run(() =>
      createGovernanceRepo(target()).listIdentities({ state: 'retired' }, 'i-003', 2),
    );
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => r.state === 'retired', 'i-003', 2));
    await expectIndexSearch(query, 'identities_state_idx', 'state');
  });

  it('bounds the tag index by the cursor (GET /v1/identities?tag=…&cursor=…)', async () => {
    const { result, query } = await run(() => createIdentityRepo(target()).list({ tag: 'pci' }, 3, 'i-010'));
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => TAGGED.has(r.id), 'i-010', 3));
    // PostgreSQL does not carry `id > cursor` across the join: the subquery states it itself.
    expect(query.sql).toMatch(/"identity_tags"\."identity_id" > /);
    // SQLite walks the id order from the cursor and probes each identity's tags: no scan, no sort.
    if (explain) {
      const plan = (await explain(query)).join('\n');
      expect(plan).toMatch(/SEARCH identities USING INDEX sqlite_autoindex_identities_1 \(id>\?\)/);
      expect(plan).not.toMatch(/SCAN identities|TEMP B-TREE/);
    }
  });

  it('bounds the tag subquery of an inventory page by the cursor', async () => {
    const { result, query } = await run(() =>
      createGovernanceRepo(target()).listIdentities({ tag: 'pci' }, 'i-004', 4),
    );
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => TAGGED.has(r.id), 'i-004', 4));
    expect(query.sql).toMatch(/from "identity_tags" where "tag" = \$?\d*\?? and "identity_id" > /);
  });

  it('reads an inventory page filtered by environment through identities_environment_idx', async () => {
    const { result, query } = await run(() =>
      createGovernanceRepo(target()).listIdentities({ environment: 'dev' }, 'i-004', 4),
    );
    expect(result.map((i) => i.id)).toEqual(idsWhere((r) => r.environment === 'dev', 'i-004', 4));
    await expectIndexSearch(query, 'identities_environment_idx', 'environment');
  });
});

import type { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernanceRepo, type Scope } from '../src/capabilities/governance/governance.repo.js';
import { migrate, type Store } from '../src/storage/database.js';
import { STORES } from './harness.js';
import { openPlanStore } from './plan-store.js';

/**
 * Issue 16: the posture scan reads the live leases of a page of identities. On SQLite, which has no
 * statistics (Tessera never runs ANALYZE), `state IN (…)` made the planner pick `leases_expiry_idx`
 * (state, expires_at), so each scan page read every live lease of the estate. The query the repo
 * builds must be an index range search of `leases_identity_idx` on identity_id, and return the
 * page's live leases only (on both stores).
 */
const STATES = ['creating', 'active', 'revoking', 'revoked', 'failed', 'revoke_failed'] as const;
const LIVE = new Set(['creating', 'active', 'revoke_failed']);
const ids = Array.from({ length: 9 }, (_, i) => `id-${String(i + 1).padStart(2, '0')}`);

describe.each(STORES)('governance listLeases on %s', (kind) => {
  let queries: CompiledQuery[] = [];
  let store: Store;
  let explain: ((q: CompiledQuery) => Promise<string[]>) | null = null;
  let drop: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    ({ store, queries, explain, drop } = await openPlanStore(kind));
    await migrate(store);
    const rows = ids.flatMap((identity_id, i) =>
      Array.from({ length: 24 }, (_, j) => ({
        id: `lease-${i}-${j}`,
        item_id: `item-${j % 3}`,
        item_name: `/db/item-${j % 3}`,
        identity_id,
        username: `u-${i}-${j}`,
        state: STATES[j % STATES.length]!,
        created_at: 1_000 + j,
        expires_at: 100_000 + j,
        max_expires_at: 200_000 + j,
        next_attempt_at: 100_000 + j,
        attempts: 0,
      })),
    );
    await store.db.insertInto('leases').values(rows).execute();
  });

  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  const target = () => ({ db: store.db, dialect: store.dialect, direct: null });
  /** Runs the repo's query for `scope`; returns its rows and the SQL it sent. */
  const run = async (scope: Scope) => {
    queries.length = 0;
    const rows = await createGovernanceRepo(target()).listLeases(scope);
    const sent = queries.filter((q) => /from "leases"/.test(q.sql));
    expect(sent).toHaveLength(1);
    return { rows, query: sent[0]! };
  };
  const expected = (among: readonly string[]) =>
    ids
      .flatMap((identity_id, i) =>
        among.includes(identity_id)
          ? Array.from({ length: 24 }, (_, j) => j)
              .filter((j) => LIVE.has(STATES[j % STATES.length]!))
              .map((j) => `lease-${i}-${j}`)
          : [],
      )
      .sort();

  it('reads a scan page (an id range) as a range search of the identity index, live leases only', async () => {
    const { rows, query } = await run({ ids: ids.slice(3, 6), range: { after: ids[2]!, last: ids[5]! } });
    expect(rows.map((r) => r.id).sort()).toEqual(expected(ids.slice(3, 6)));
    expect(rows.every((r) => LIVE.has(r.state))).toBe(true);
    if (explain) {
      const plan = (await explain(query)).join('\n');
      expect(plan).toMatch(
        /SEARCH leases USING INDEX leases_identity_idx \(identity_id>\? AND identity_id<\?\)/,
      );
      expect(plan).not.toMatch(/leases_expiry_idx|leases_due_idx|SCAN leases/);
    }
  });

  it('reads the first scan page (no lower bound) through the identity index too', async () => {
    const { rows, query } = await run({ ids: ids.slice(0, 4), range: { after: null, last: ids[3]! } });
    expect(rows.map((r) => r.id).sort()).toEqual(expected(ids.slice(0, 4)));
    if (explain) {
      const plan = (await explain(query)).join('\n');
      expect(plan).toMatch(/SEARCH leases USING INDEX leases_identity_idx \(identity_id<\?\)/);
      expect(plan).not.toMatch(/leases_expiry_idx|leases_due_idx|SCAN leases/);
    }
  });

  it('reads a page of listed ids (an inventory page) through the identity index', async () => {
    const among = [ids[1]!, ids[7]!];
    const { rows, query } = await run({ ids: among, range: null });
    expect(rows.map((r) => r.id).sort()).toEqual(expected(among));
    if (explain) {
      const plan = (await explain(query)).join('\n');
      expect(plan).toMatch(/SEARCH leases USING INDEX leases_identity_idx \(identity_id=\?\)/);
      expect(plan).not.toMatch(/leases_expiry_idx|leases_due_idx|SCAN leases/);
    }
  });
});

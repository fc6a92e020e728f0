import { type Kysely, type Migration, type RawBuilder, type SqlBool, sql } from 'kysely';
import { prepared, type QueryTarget } from '../../storage/prepared.js';
import type { Database } from '../../storage/schema.js';
import type { Baseline } from './anomaly.rules.js';
import type { StoredFinding } from './governance.model.js';

/** The capability's own tables (`tessera_migrations_governance`). */
interface GovTables {
  gov_findings: {
    key: string;
    rule: string;
    owasp: string;
    severity: string;
    identity_id: string;
    identity_name: string;
    title: string;
    evidence: string;
    remediation: string;
    first_seen_at: number;
    last_seen_at: number;
    resolved_at: number | null;
  };
  /** Aggregated use from the audit ledger: `perm` (type|action, path) and `src` (credential, address). */
  gov_usage: {
    identity_id: string;
    kind: string;
    subject: string;
    detail: string;
    count: number;
    first_at: number;
    last_at: number;
  };
  gov_state: { name: string; value: number };
  /** Per identity, a digest of the findings the last scan wrote for it (ADR 0054). */
  gov_scan_digests: { identity_id: string; digest: string };
  /** Per-identity anomaly baselines (ADR 0033): JSON of `Baseline`. */
  gov_baselines: { identity_id: string; body: string; updated_at: number };
  gov_policy: { id: string; body: string; updated_at: number };
  gov_owners: { owner: string; state: string; successor: string | null; updated_at: number };
  gov_sources: {
    name: string;
    item_name: string;
    connector: string;
    prefix: string;
    created_at: number;
  };
  gov_discovered: {
    id: string;
    source: string;
    account: string;
    identity_id: string;
    state: string;
    first_seen_at: number;
    last_seen_at: number;
    decided_at: number | null;
    decision: string | null;
    password_changed_at: number | null;
  };
}
type All = Database & GovTables;

export const governanceMigrations = (): Record<string, Migration> => ({
  '0001-governance': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('gov_findings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('owasp', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('identity_name', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('remediation', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('resolved_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('gov_findings_identity_idx')
        .on('gov_findings')
        .columns(['identity_id', 'resolved_at'])
        .execute();
      await db.schema
        .createTable('gov_usage')
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('first_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('gov_usage_pk', ['identity_id', 'kind', 'subject', 'detail'])
        .execute();
      await db.schema
        .createTable('gov_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gov_policy')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gov_owners')
        .addColumn('owner', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('successor', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gov_sources')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('item_name', 'text', (c) => c.notNull())
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gov_discovered')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('account', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('decision', 'text')
        .addUniqueConstraint('gov_discovered_account_uq', ['source', 'account'])
        .execute();
    },
  },
  // The inventory reads credentials per identity, a page at a time; the core tables are indexed for
  // their own paths (by method, by path), not by identity.
  '0002-identity-indexes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('gov_auth_methods_identity_idx')
        .ifNotExists()
        .on('auth_methods')
        .column('identity_id')
        .execute();
      await db.schema
        .createIndex('gov_uid_nodes_identity_idx')
        .ifNotExists()
        .on('uid_nodes')
        .columns(['identity_id', 'revoked_at'])
        .execute();
    },
  },
  '0003-anomaly-baselines': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('gov_baselines')
        .addColumn('identity_id', 'text', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  // The inventory filtered by finding reads open findings of one OWASP id in identity order.
  '0004-findings-by-owasp': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('gov_findings_owasp_idx')
        .on('gov_findings')
        .columns(['owasp', 'resolved_at', 'identity_id'])
        .execute();
    },
  },
  // A discovered account's password age is its own fact (MariaDB/MySQL record it), not a last use.
  '0005-discovered-password-age': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('gov_discovered').addColumn('password_changed_at', 'bigint').execute();
    },
  },
  // A scan writes an identity's findings only when their digest changed since the last scan wrote them.
  '0006-scan-digests': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('gov_scan_digests')
        .addColumn('identity_id', 'text', (c) => c.primaryKey())
        .addColumn('digest', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Issue 19: `revoked_at` out of the identity index. A subtree revocation writes only that column;
  // indexed, each revoked row also moved in this index (on SQLite) and PostgreSQL could not update
  // rows in place (core migration 0013): 100,000 nodes took 2.3–3.8 s in a 1,000,000-node table. The
  // inventory reads an identity's UID nodes by identity and filters `revoked_at` on the rows.
  '0007-uid-nodes-identity-index': {
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('gov_uid_nodes_identity_idx').ifExists().execute();
      await db.schema
        .createIndex('gov_uid_nodes_identity_idx')
        .on('uid_nodes')
        .column('identity_id')
        .execute();
    },
  },
});

/** The start of the last completed scan: an open finding was seen by it (ADR 0054). */
export const SCAN_SEEN_AT = 'scan-seen-at';

const n = (v: number | string | null | bigint): number => Number(v);
const nn = (v: number | string | null | bigint): number | null => (v === null ? null : Number(v));

export interface IdentityRow {
  id: string;
  name: string;
  kind: string;
  owner: string;
  environment: string | null;
  state: string;
  created_at: number;
  last_used_at: number | null;
}
export interface InventoryFilter {
  kind?: string;
  owner?: string;
  environment?: string;
  state?: string;
  tag?: string;
  /** Only identities with an open finding of this OWASP id (or any, with `*`). */
  finding?: string;
}

export interface AuditSlice {
  seq: number;
  at: number;
  type: string;
  actor: string;
  resource: string | null;
  data: string;
  source_ip: string | null;
}
export interface UsageRow {
  identityId: string;
  kind: 'perm' | 'src';
  subject: string;
  detail: string;
  count: number;
  firstAt: number;
  lastAt: number;
}
export interface DiscoveredRow {
  id: string;
  source: string;
  account: string;
  identityId: string;
  state: string;
  firstSeenAtMs: number;
  lastSeenAtMs: number;
  decidedAtMs: number | null;
  decision: string | null;
  /** When the target says the password was last set; null when it does not record it. */
  passwordChangedAtMs: number | null;
}

/**
 * Which identities a fact query covers: a page's ids, and, when the page is every identity in an id
 * range (a scan page, an unfiltered inventory page), that range `(after, last]` — read through the
 * identity_id indexes in one statement instead of IN lists of hundreds of ids.
 */
export interface Scope {
  ids: readonly string[];
  range: { after: string | null; last: string } | null;
}

/** Every role, inclusion and rule, loaded once for a whole scan (small tables beside identities). */
export interface RoleCatalogue {
  roles: { id: string; name: string; builtin: number | boolean }[];
  includes: Map<string, string[]>;
  rules: Map<
    string,
    { role_id: string; rule_type: string; path: string; capabilities: string; expires_at: number | null }[]
  >;
}

const BATCH = 50;
const FINDING_COLUMNS = 10;
const USAGE_COLUMNS = 7;

/** Findings opened (or reopened), `rows` at a time: compiled once per size, run per batch. */
const openFindings = (rows: number) =>
  prepared((core, ...a: unknown[]) =>
    (core as unknown as Kysely<All>)
      .insertInto('gov_findings')
      .values(
        Array.from({ length: rows }, (_, i) => {
          const v = a.slice(i * FINDING_COLUMNS, (i + 1) * FINDING_COLUMNS) as string[];
          return {
            key: v[0]!,
            rule: v[1]!,
            owasp: v[2]!,
            severity: v[3]!,
            identity_id: v[4]!,
            identity_name: v[5]!,
            title: v[6]!,
            evidence: v[7]!,
            remediation: v[8]!,
            first_seen_at: v[9] as unknown as number,
            last_seen_at: v[9] as unknown as number,
            resolved_at: null,
          };
        }),
      )
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          resolved_at: null,
          first_seen_at: (eb) => eb.ref('excluded.first_seen_at'),
          last_seen_at: (eb) => eb.ref('excluded.last_seen_at'),
          evidence: (eb) => eb.ref('excluded.evidence'),
          severity: (eb) => eb.ref('excluded.severity'),
        }),
      ),
  );
const openFindingsBatch = openFindings(BATCH);
const openFindingOne = openFindings(1);

/** Usage aggregates added to, `rows` at a time. */
const addUsageRows = (rows: number) =>
  prepared((core, ...a: unknown[]) =>
    (core as unknown as Kysely<All>)
      .insertInto('gov_usage')
      .values(
        Array.from({ length: rows }, (_, i) => {
          const v = a.slice(i * USAGE_COLUMNS, (i + 1) * USAGE_COLUMNS);
          return {
            identity_id: v[0] as string,
            kind: v[1] as string,
            subject: v[2] as string,
            detail: v[3] as string,
            count: v[4] as number,
            first_at: v[5] as number,
            last_at: v[6] as number,
          };
        }),
      )
      .onConflict((oc) =>
        oc.columns(['identity_id', 'kind', 'subject', 'detail']).doUpdateSet({
          count: sql`gov_usage.count + excluded.count`,
          last_at: sql`case when excluded.last_at > gov_usage.last_at then excluded.last_at else gov_usage.last_at end`,
        }),
      ),
  );
const addUsageBatch = addUsageRows(BATCH);
const addUsageOne = addUsageRows(1);

/** Anomaly baselines written (inserted or replaced), `rows` at a time. */
const upsertBaselines = (rows: number) =>
  prepared((core, ...a: unknown[]) =>
    (core as unknown as Kysely<All>)
      .insertInto('gov_baselines')
      .values(
        Array.from({ length: rows }, (_, i) => ({
          identity_id: a[i * 3] as string,
          body: a[i * 3 + 1] as string,
          updated_at: a[i * 3 + 2] as number,
        })),
      )
      .onConflict((oc) =>
        oc.column('identity_id').doUpdateSet({
          body: (eb) => eb.ref('excluded.body'),
          updated_at: (eb) => eb.ref('excluded.updated_at'),
        }),
      ),
  );
const upsertBaselinesBatch = upsertBaselines(BATCH);

/** Findings digests written (inserted or replaced), `rows` at a time. */
const upsertDigests = (rows: number) =>
  prepared((core, ...a: unknown[]) =>
    (core as unknown as Kysely<All>)
      .insertInto('gov_scan_digests')
      .values(
        Array.from({ length: rows }, (_, i) => ({
          identity_id: a[i * 2] as string,
          digest: a[i * 2 + 1] as string,
        })),
      )
      .onConflict((oc) =>
        oc.column('identity_id').doUpdateSet({ digest: (eb) => eb.ref('excluded.digest') }),
      ),
  );
const upsertDigestsBatch = upsertDigests(BATCH);
const upsertDigestOne = upsertDigests(1);
const upsertBaselineOne = upsertBaselines(1);

/** Runs `batch` over full batches of `args` rows and `one` over the rest. */
async function inBatches<T>(
  target: QueryTarget,
  rows: readonly T[],
  argsOf: (row: T) => unknown[],
  batch: (t: QueryTarget, ...a: unknown[]) => Promise<unknown>,
  one: (t: QueryTarget, ...a: unknown[]) => Promise<unknown>,
) {
  let i = 0;
  for (; i + BATCH <= rows.length; i += BATCH)
    await batch(target, ...rows.slice(i, i + BATCH).flatMap(argsOf));
  for (; i < rows.length; i++) await one(target, ...argsOf(rows[i]!));
}

export function createGovernanceRepo(target: QueryTarget) {
  const db = target.db as unknown as Kysely<All>;
  /** `leases.state`, not usable by SQLite's index selection there (see `listLeases`). */
  const leaseState =
    target.dialect === 'sqlite' ? sql<string>`+${sql.ref('state')}` : sql<string>`${sql.ref('state')}`;
  const chunks = <T>(xs: readonly T[], size = 500): T[][] => {
    const out: T[][] = [];
    for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
    return out;
  };
  const inChunks = async <T, R>(xs: readonly T[], q: (part: T[]) => Promise<R[]>): Promise<R[]> =>
    (await Promise.all(chunks(xs).map(q))).flat();
  /** Runs `q` with the scope's condition on `column`: its id range in one query, or IN chunks of ids. */
  const scoped = async <R>(
    scope: Scope,
    column: string,
    q: (where: RawBuilder<SqlBool>) => Promise<R[]>,
  ): Promise<R[]> => {
    if (scope.ids.length === 0) return [];
    const col = sql.ref(column);
    if (scope.range)
      return q(
        scope.range.after === null
          ? sql<SqlBool>`${col} <= ${scope.range.last}`
          : sql<SqlBool>`${col} > ${scope.range.after} and ${col} <= ${scope.range.last}`,
      );
    return inChunks(scope.ids, (part) => q(sql<SqlBool>`${col} in (${sql.join(part)})`));
  };

  const scanSeenAt = async () =>
    n(
      (await db.selectFrom('gov_state').select('value').where('name', '=', SCAN_SEEN_AT).executeTakeFirst())
        ?.value ?? 0,
    );

  const repo = {
    /**
     * Identities in id order after `afterId`, filtered (the inventory's keyset paging). With a
     * finding filter, candidates come from the findings' index in identity order, a bounded batch
     * at a time (a rare finding costs its own entries, not a pass over every identity), and the
     * other filters are applied to each batch.
     */
    async listIdentities(filter: InventoryFilter, afterId: string | null, limit: number) {
      const select = (after: string | null, among: readonly string[] | null) => {
        let q = db
          .selectFrom('identities')
          .select(['id', 'name', 'kind', 'owner', 'environment', 'state', 'created_at', 'last_used_at']);
        if (filter.kind) q = q.where('kind', '=', filter.kind);
        if (filter.owner) q = q.where('owner', '=', filter.owner);
        if (filter.environment) q = q.where('environment', '=', filter.environment);
        if (filter.state) q = q.where('state', '=', filter.state);
        if (filter.tag) {
          const tag = filter.tag;
          // Bounded by the cursor too (PostgreSQL does not carry `id > after` into the subquery).
          q = q.where('id', 'in', (eb) => {
            const tagged = eb.selectFrom('identity_tags').select('identity_id').where('tag', '=', tag);
            return after ? tagged.where('identity_id', '>', after) : tagged;
          });
        }
        if (among) q = q.where('id', 'in', [...among]);
        if (after) q = q.where('id', '>', after);
        return q.orderBy('id').limit(limit).execute();
      };
      const out: Awaited<ReturnType<typeof select>> = [];
      if (!filter.finding) out.push(...(await select(afterId, null)));
      else {
        const owasp = filter.finding;
        const batch = Math.max(200, limit * 4);
        for (let after = afterId; out.length < limit; ) {
          let f = db
            .selectFrom('gov_findings')
            .select('identity_id')
            .distinct()
            .where('resolved_at', 'is', null);
          if (owasp !== '*') f = f.where('owasp', '=', owasp);
          if (after) f = f.where('identity_id', '>', after);
          const candidates = (await f.orderBy('identity_id').limit(batch).execute()).map(
            (r) => r.identity_id,
          );
          if (candidates.length === 0) break;
          out.push(...(await select(after, candidates)).slice(0, limit - out.length));
          if (candidates.length < batch) break;
          after = candidates[candidates.length - 1]!;
        }
      }
      return out.map((r) => ({
        ...r,
        created_at: n(r.created_at),
        last_used_at: nn(r.last_used_at),
      })) as IdentityRow[];
    },
    listTags: (scope: Scope) =>
      scoped(scope, 'identity_id', (where) =>
        db.selectFrom('identity_tags').select(['identity_id', 'tag']).where(where).execute(),
      ),
    listMethods: (scope: Scope) =>
      scoped(scope, 'identity_id', (where) =>
        db
          .selectFrom('auth_methods')
          .select([
            'id',
            'name',
            'type',
            'identity_id',
            'settings',
            'is_admin',
            'expires_at',
            'created_at',
            'updated_at',
          ])
          .where(where)
          .execute(),
      ),
    listUidNodes: (scope: Scope) =>
      scoped(scope, 'uid_nodes.identity_id', (where) =>
        db
          .selectFrom('uid_nodes')
          .innerJoin('auth_methods', 'auth_methods.id', 'uid_nodes.method_id')
          .select([
            'uid_nodes.id',
            'uid_nodes.identity_id',
            'auth_methods.name as via',
            'uid_nodes.ttl_seconds',
            'uid_nodes.expires_at',
            'uid_nodes.created_at',
            'uid_nodes.last_rotated_at',
          ])
          .where(where)
          .where('uid_nodes.revoked_at', 'is', null)
          .execute(),
      ),
    /**
     * The live leases of the scope, read through `leases_identity_idx` (identity_id, …). SQLite has
     * no statistics (Tessera never runs ANALYZE), so an indexable `state IN (…)` makes it pick
     * `leases_expiry_idx` (state, expires_at) and read every live lease of the estate for each scan
     * page; its unary `+` keeps `state` out of index selection (it is still filtered, from the
     * identity index's own column). Terminal leases are kept (history), so the state filter stays in
     * SQL rather than in JavaScript. PostgreSQL keeps the plain column: it has statistics, and no
     * unary `+` on text.
     */
    listLeases: (scope: Scope) =>
      scoped(scope, 'identity_id', (where) =>
        db
          .selectFrom('leases')
          .select(['id', 'identity_id', 'item_name', 'created_at', 'expires_at', 'max_expires_at', 'state'])
          .where(where)
          .where(leaseState, 'in', ['creating', 'active', 'revoke_failed'])
          .execute(),
      ),
    /**
     * Rules reachable from the associations of the identities' methods (`methodIds`, those of the
     * scope), inclusion followed: from the catalogue when a scan loaded one, else by query.
     */
    async listGrants(scope: Scope, methodIds: readonly string[], catalogue: RoleCatalogue | null = null) {
      const assocs = scope.range
        ? await scoped(scope, 'auth_methods.identity_id', (where) =>
            db
              .selectFrom('role_associations')
              .innerJoin('auth_methods', 'auth_methods.id', 'role_associations.auth_method_id')
              .select(['role_associations.auth_method_id', 'role_associations.role_id'])
              .where(where)
              .execute(),
          )
        : await inChunks(methodIds, (part) =>
            db
              .selectFrom('role_associations')
              .select(['auth_method_id', 'role_id'])
              .where('auth_method_id', 'in', part)
              .execute(),
          );
      const reach = new Map<string, Set<string>>(); // role → methods
      for (const a of assocs) reach.set(a.role_id, (reach.get(a.role_id) ?? new Set()).add(a.auth_method_id));
      const included = async (frontier: string[]) =>
        catalogue
          ? frontier.flatMap((role_id) =>
              (catalogue.includes.get(role_id) ?? []).map((included_id) => ({ role_id, included_id })),
            )
          : inChunks(frontier, (part) =>
              db
                .selectFrom('role_inclusions')
                .select(['role_id', 'included_id'])
                .where('role_id', 'in', part)
                .execute(),
            );
      for (let frontier = [...reach.keys()], guard = 0; frontier.length > 0 && guard < 20; guard++) {
        const next: string[] = [];
        for (const e of await included(frontier)) {
          const via = reach.get(e.role_id)!;
          const have = reach.get(e.included_id);
          if (!have) next.push(e.included_id);
          reach.set(e.included_id, new Set([...(have ?? []), ...via]));
        }
        frontier = next;
      }
      const roleIds = [...reach.keys()];
      if (catalogue)
        return {
          reach,
          roles: catalogue.roles,
          rules: roleIds.flatMap((id) => catalogue.rules.get(id) ?? []),
        };
      const [roles, rules] = await Promise.all([
        inChunks(roleIds, (part) =>
          db.selectFrom('roles').select(['id', 'name', 'builtin']).where('id', 'in', part).execute(),
        ),
        inChunks(roleIds, (part) =>
          db
            .selectFrom('role_rules')
            .select(['role_id', 'rule_type', 'path', 'capabilities', 'expires_at'])
            .where('role_id', 'in', part)
            .execute(),
        ),
      ]);
      return { reach, roles, rules };
    },
    /** Every role, inclusion and rule (a scan reads them once, not once per page). */
    async loadRoleCatalogue(): Promise<RoleCatalogue> {
      const [roles, includes, rules] = await Promise.all([
        db.selectFrom('roles').select(['id', 'name', 'builtin']).execute(),
        db.selectFrom('role_inclusions').select(['role_id', 'included_id']).execute(),
        db
          .selectFrom('role_rules')
          .select(['role_id', 'rule_type', 'path', 'capabilities', 'expires_at'])
          .execute(),
      ]);
      const group = <T, V>(xs: readonly T[], key: (x: T) => string, value: (x: T) => V) => {
        const out = new Map<string, V[]>();
        for (const x of xs) {
          const list = out.get(key(x));
          if (list) list.push(value(x));
          else out.set(key(x), [value(x)]);
        }
        return out;
      };
      return {
        roles,
        includes: group(
          includes,
          (x) => x.role_id,
          (x) => x.included_id,
        ),
        rules: group(
          rules,
          (x) => x.role_id,
          (x) => ({ ...x, expires_at: x.expires_at === null ? null : Number(x.expires_at) }),
        ),
      };
    },
    /** The effective-access graph's inputs (ADR 0043): every role and inclusion (small tables). */
    async listGraphRoles() {
      const [roles, includes] = await Promise.all([
        db.selectFrom('roles').select(['id', 'name', 'builtin']).execute(),
        db.selectFrom('role_inclusions').select(['role_id', 'included_id']).execute(),
      ]);
      return { roles, includes };
    },
    /** Rules of the given rule types (the question's type, `*`, and what editing roles needs). */
    listGraphRules: (types: readonly string[]) =>
      db
        .selectFrom('role_rules')
        .select(['role_id', 'rule_type', 'path', 'capabilities', 'conditions', 'expires_at'])
        .where('rule_type', 'in', [...types])
        .execute(),
    /** Associations of some roles, or of some auth methods. */
    listGraphAssociations: (column: 'role_id' | 'auth_method_id', ids: readonly string[]) =>
      inChunks(ids, (part) =>
        db
          .selectFrom('role_associations')
          .select(['id', 'role_id', 'auth_method_id', 'claims'])
          .where(column, 'in', part)
          .execute(),
      ),
    /** Auth methods by id (live ones), and the OAuth clients that may act for others. */
    listGraphMethods: (ids: readonly string[], nowMs: number) =>
      inChunks(ids, (part) =>
        db
          .selectFrom('auth_methods')
          .select(['id', 'name', 'type', 'identity_id', 'settings'])
          .where('id', 'in', part)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowMs)]))
          .execute(),
      ),
    listGraphDelegators: (nowMs: number) =>
      db
        .selectFrom('auth_methods')
        .select(['id', 'name', 'type', 'identity_id', 'settings'])
        .where('type', '=', 'oauth_client')
        .where('settings', 'like', '%"mayActFor":[%"%')
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowMs)]))
        .execute(),
    listGraphIdentities: (ids: readonly string[]) =>
      inChunks(ids, (part) =>
        db
          .selectFrom('identities')
          .select(['id', 'name', 'kind', 'owner', 'environment', 'state'])
          .where('id', 'in', part)
          .execute(),
      ),
    listUsage: (scope: Scope, sinceMs: number) =>
      scoped(scope, 'identity_id', async (where) =>
        (
          await db.selectFrom('gov_usage').selectAll().where(where).where('last_at', '>=', sinceMs).execute()
        ).map((r) => ({ ...r, count: n(r.count), first_at: n(r.first_at), last_at: n(r.last_at) })),
      ),
    listOpenFindings: (ids: readonly string[]) =>
      inChunks(ids, async (part) =>
        (
          await db
            .selectFrom('gov_findings')
            .selectAll()
            .where('identity_id', 'in', part)
            .where('resolved_at', 'is', null)
            .execute()
        ).map((r) => toFinding(r)),
      ),
    async listFindings(opts: {
      owasp?: string;
      includeResolved?: boolean;
      afterKey?: string | null;
      limit: number;
    }) {
      let q = db.selectFrom('gov_findings').selectAll();
      if (!opts.includeResolved) q = q.where('resolved_at', 'is', null);
      if (opts.owasp) q = q.where('owasp', '=', opts.owasp);
      if (opts.afterKey) q = q.where('key', '>', opts.afterKey);
      const [rows, seenAt] = await Promise.all([q.orderBy('key').limit(opts.limit).execute(), scanSeenAt()]);
      return rows.map((r) => toFinding(r, seenAt));
    },
    async getFinding(key: string) {
      const [row, seenAt] = await Promise.all([
        db.selectFrom('gov_findings').selectAll().where('key', '=', key).executeTakeFirst(),
        scanSeenAt(),
      ]);
      return row ? toFinding(row, seenAt) : null;
    },
    /**
     * Writes a scan page's outcome (ADR 0054): only the identities whose findings digest differs
     * from the one stored when their findings were last written get `saveFindings` (the page's
     * range when all of them do); the others' stored findings are already exactly these, and are
     * seen by this scan through its watermark (`SCAN_SEEN_AT`) instead of a stamp on every row.
     */
    async saveScanPage(
      scope: Scope,
      found: readonly StoredFinding[],
      digests: ReadonlyMap<string, string>,
      nowMs: number,
    ) {
      const stored = new Map(
        (
          await scoped(scope, 'identity_id', (where) =>
            db.selectFrom('gov_scan_digests').select(['identity_id', 'digest']).where(where).execute(),
          )
        ).map((r) => [r.identity_id, r.digest]),
      );
      const changed = scope.ids.filter((id) => stored.get(id) !== digests.get(id));
      if (changed.length === 0) return { opened: 0, resolved: 0, written: 0 };
      const all = changed.length === scope.ids.length;
      const only = new Set(changed);
      const outcome = await repo.saveFindings(
        all ? scope : { ids: changed, range: null },
        all ? found : found.filter((f) => only.has(f.identityId)),
        nowMs,
      );
      await inBatches(
        target,
        changed,
        (id) => [id, digests.get(id) ?? ''],
        upsertDigestsBatch,
        upsertDigestOne,
      );
      return { ...outcome, written: changed.length };
    },
    /**
     * Writes a scan's outcome for the identities of `scope`: new findings opened, absent ones
     * resolved, the rest stamped seen (one statement over an id range).
     */
    async saveFindings(scope: Scope, found: readonly StoredFinding[], nowMs: number) {
      const open = await scoped(scope, 'identity_id', (where) =>
        db
          .selectFrom('gov_findings')
          .select(['key', 'evidence', 'severity'])
          .where(where)
          .where('resolved_at', 'is', null)
          .execute(),
      );
      const openKeys = new Set(open.map((r) => r.key));
      const before = new Map(open.map((r) => [r.key, `${r.severity}\u0000${r.evidence}`]));
      const seen = new Set(found.map((f) => f.key));
      const gone = [...openKeys].filter((k) => !seen.has(k));
      for (const part of chunks(gone))
        await db.updateTable('gov_findings').set({ resolved_at: nowMs }).where('key', 'in', part).execute();
      const fresh = found.filter((f) => !openKeys.has(f.key));
      const still = found.filter((f) => openKeys.has(f.key));
      // What is still open after resolving the gone ones is exactly `still`.
      if (scope.range && still.length > 0)
        await scoped(scope, 'identity_id', (where) =>
          db
            .updateTable('gov_findings')
            .set({ last_seen_at: nowMs })
            .where(where)
            .where('resolved_at', 'is', null)
            .execute(),
        );
      else
        for (const part of chunks(still.map((f) => f.key)))
          await db
            .updateTable('gov_findings')
            .set({ last_seen_at: nowMs })
            .where('key', 'in', part)
            .execute();
      // Evidence is rewritten only where it changed (ages, sources…), not for every finding seen again.
      for (const f of still) {
        const evidence = JSON.stringify(f.evidence);
        if (before.get(f.key) === `${f.severity}\u0000${evidence}`) continue;
        await db
          .updateTable('gov_findings')
          .set({ evidence, severity: f.severity })
          .where('key', '=', f.key)
          .execute();
      }
      await inBatches(
        target,
        fresh,
        (f) => [
          f.key,
          f.rule,
          f.owasp,
          f.severity,
          f.identityId,
          f.identityName,
          f.title,
          JSON.stringify(f.evidence),
          JSON.stringify(f.remediation),
          nowMs,
        ],
        openFindingsBatch,
        openFindingOne,
      );
      return { opened: fresh.length, resolved: gone.length };
    },
    async readCursor(name: string): Promise<number> {
      const row = await db
        .selectFrom('gov_state')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirst();
      return row ? n(row.value) : 0;
    },
    async setCursor(name: string, value: number) {
      await db
        .insertInto('gov_state')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
        .execute();
    },
    async readBaselines(ids: readonly string[]): Promise<Map<string, Baseline>> {
      const out = new Map<string, Baseline>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db
          .selectFrom('gov_baselines')
          .select(['identity_id', 'body'])
          .where('identity_id', 'in', ids.slice(i, i + 500))
          .execute();
        for (const r of rows) out.set(r.identity_id, JSON.parse(r.body) as Baseline);
      }
      return out;
    },
    async saveBaselines(baselines: ReadonlyMap<string, Baseline>, nowMs: number) {
      await inBatches(
        target,
        [...baselines],
        ([id, b]) => [id, JSON.stringify(b), nowMs],
        upsertBaselinesBatch,
        upsertBaselineOne,
      );
    },
    async readAuditAfter(seq: number, limit: number): Promise<AuditSlice[]> {
      const rows = await db
        .selectFrom('audit_events')
        .select(['seq', 'at', 'type', 'actor', 'resource', 'data', 'source_ip'])
        .where('seq', '>', seq)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...r, seq: n(r.seq), at: n(r.at) }));
    },
    async addUsage(rows: readonly UsageRow[]) {
      await inBatches(
        target,
        rows,
        (u) => [u.identityId, u.kind, u.subject, u.detail, u.count, u.firstAt, u.lastAt],
        addUsageBatch,
        addUsageOne,
      );
    },
    async readPolicy(): Promise<Record<string, unknown> | null> {
      const row = await db
        .selectFrom('gov_policy')
        .select('body')
        .where('id', '=', 'posture')
        .executeTakeFirst();
      return row ? (JSON.parse(row.body) as Record<string, unknown>) : null;
    },
    async savePolicy(body: Record<string, unknown>, nowMs: number) {
      const text = JSON.stringify(body);
      await db
        .insertInto('gov_policy')
        .values({ id: 'posture', body: text, updated_at: nowMs })
        .onConflict((oc) => oc.column('id').doUpdateSet({ body: text, updated_at: nowMs }))
        .execute();
    },
    async listGoneOwners(): Promise<string[]> {
      const rows = await db
        .selectFrom('gov_owners')
        .select('owner')
        .where('state', '=', 'offboarded')
        .execute();
      return rows.map((r) => r.owner);
    },
    async markOwnerOffboarded(owner: string, successor: string | null, nowMs: number) {
      await db
        .insertInto('gov_owners')
        .values({ owner, state: 'offboarded', successor, updated_at: nowMs })
        .onConflict((oc) =>
          oc.column('owner').doUpdateSet({ state: 'offboarded', successor, updated_at: nowMs }),
        )
        .execute();
    },
    async listIdentityIdsOfOwner(owner: string) {
      return await db
        .selectFrom('identities')
        .select(['id', 'name', 'state'])
        .where('owner', '=', owner)
        .execute();
    },
    async setOwner(ids: readonly string[], owner: string, nowMs: number) {
      for (const part of chunks(ids))
        await db
          .updateTable('identities')
          .set({ owner, updated_at: nowMs })
          .where('id', 'in', part)
          .execute();
    },
    async setState(id: string, state: string, nowMs: number) {
      await db
        .updateTable('identities')
        .set({ state, updated_at: nowMs, ...(state === 'retired' ? { retired_at: nowMs } : {}) })
        .where('id', '=', id)
        .execute();
    },
    /** Ends every auth method of the identity now (refused by the shared method checks). */
    async expireMethods(identityId: string, nowMs: number) {
      const rows = await db
        .selectFrom('auth_methods')
        .select(['id', 'name', 'type'])
        .where('identity_id', '=', identityId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowMs)]))
        .execute();
      if (rows.length > 0)
        await db
          .updateTable('auth_methods')
          .set({ expires_at: nowMs, updated_at: nowMs })
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      return rows;
    },
    async revokeUidNodes(identityId: string, nowMs: number) {
      const rows = await db
        .selectFrom('uid_nodes')
        .innerJoin('auth_methods', 'auth_methods.id', 'uid_nodes.method_id')
        .select(['uid_nodes.id', 'auth_methods.name as via'])
        .where('uid_nodes.identity_id', '=', identityId)
        .where('uid_nodes.revoked_at', 'is', null)
        .execute();
      if (rows.length > 0)
        await db
          .updateTable('uid_nodes')
          .set({ revoked_at: nowMs, revoked_reason: 'identity retired' })
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      return rows;
    },
    async listRotatedUsernames(): Promise<string[]> {
      const rows = await db.selectFrom('rotated_secrets').select('usernames').execute();
      return rows.flatMap((r) => JSON.parse(r.usernames) as string[]);
    },
    listSources: () => db.selectFrom('gov_sources').selectAll().orderBy('name').execute(),
    getSource: (name: string) =>
      db.selectFrom('gov_sources').selectAll().where('name', '=', name).executeTakeFirst(),
    async insertSource(s: GovTables['gov_sources']) {
      await db.insertInto('gov_sources').values(s).execute();
    },
    async listDiscovered(source: string | null): Promise<DiscoveredRow[]> {
      let q = db.selectFrom('gov_discovered').selectAll();
      if (source) q = q.where('source', '=', source);
      return (await q.orderBy('source').orderBy('account').execute()).map(toDiscovered);
    },
    async getDiscovered(id: string) {
      const r = await db.selectFrom('gov_discovered').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toDiscovered(r) : null;
    },
    async insertDiscovered(d: DiscoveredRow) {
      await db
        .insertInto('gov_discovered')
        .values({
          id: d.id,
          source: d.source,
          account: d.account,
          identity_id: d.identityId,
          state: d.state,
          first_seen_at: d.firstSeenAtMs,
          last_seen_at: d.lastSeenAtMs,
          decided_at: d.decidedAtMs,
          decision: d.decision,
          password_changed_at: d.passwordChangedAtMs,
        })
        .execute();
    },
    async setDiscoveredPasswordChangedAt(id: string, atMs: number | null) {
      await db
        .updateTable('gov_discovered')
        .set({ password_changed_at: atMs })
        .where('id', '=', id)
        .execute();
    },
    async touchDiscovered(ids: readonly string[], nowMs: number) {
      for (const part of chunks(ids))
        await db.updateTable('gov_discovered').set({ last_seen_at: nowMs }).where('id', 'in', part).execute();
    },
    async decideDiscovered(id: string, state: string, decision: string, nowMs: number) {
      await db
        .updateTable('gov_discovered')
        .set({ state, decision, decided_at: nowMs })
        .where('id', '=', id)
        .execute();
    },
  };
  return repo;
}
export type GovernanceRepo = ReturnType<typeof createGovernanceRepo>;

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    governance: GovernanceRepo;
  }
}

/** A stored finding; an open one was seen at least by the last completed scan (`seenAt`). */
function toFinding(r: GovTables['gov_findings'], seenAt = 0): StoredFinding {
  return {
    key: r.key,
    rule: r.rule,
    owasp: r.owasp as StoredFinding['owasp'],
    severity: r.severity as StoredFinding['severity'],
    identityId: r.identity_id,
    identityName: r.identity_name,
    title: r.title,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    remediation: JSON.parse(r.remediation) as StoredFinding['remediation'],
    firstSeenAtMs: n(r.first_seen_at),
    lastSeenAtMs: r.resolved_at === null ? Math.max(n(r.last_seen_at), seenAt) : n(r.last_seen_at),
    resolvedAtMs: nn(r.resolved_at),
  };
}

function toDiscovered(r: GovTables['gov_discovered']): DiscoveredRow {
  return {
    id: r.id,
    source: r.source,
    account: r.account,
    identityId: r.identity_id,
    state: r.state,
    firstSeenAtMs: n(r.first_seen_at),
    lastSeenAtMs: n(r.last_seen_at),
    decidedAtMs: nn(r.decided_at),
    decision: r.decision,
    passwordChangedAtMs: nn(r.password_changed_at),
  };
}

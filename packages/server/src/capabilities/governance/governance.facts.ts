/**
 * Builds the facts the rules read, for a page of identities at a time: a handful of bulk queries
 * per page (methods, UID nodes, leases, grants, usage, tags), never one query per identity.
 */
import type { Capability, RuleType } from '../../core/access/access.policy.js';
import type { IdentityKind, IdentityState } from '../../core/identities/identities.model.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';
import type {
  CredentialView,
  GrantView,
  IdentityFacts,
  LeakFact,
  LeakSource,
  Management,
  UsageView,
} from './governance.model.js';
import type { IdentityRow, RoleCatalogue, Scope } from './governance.repo.js';

/**
 * How a page's facts are read: `contiguous` when the rows are every identity of their id range
 * (a scan page, an unfiltered inventory page) so each table is read by range, not by IN lists;
 * a scan also passes the role catalogue it loaded once.
 */
export interface FactsOptions {
  after?: string | null;
  contiguous?: boolean;
  catalogue?: RoleCatalogue | null;
}

const DAY_MS = 86_400_000;
const MAX_SOURCES = 50;

const parse = (s: string): Record<string, unknown> => {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Per-aspect owners from tags `owner-credentials=<x>` and `owner-entitlements=<x>` (else the owner). */
function ownership(owner: string, tags: string[]) {
  const tagged = (aspect: string) =>
    tags.find((t) => t.startsWith(`owner-${aspect}=`))?.slice(`owner-${aspect}=`.length) ?? owner;
  return { identity: owner, credentials: tagged('credentials'), entitlements: tagged('entitlements') };
}

export async function buildFacts(
  r: ReadRepos,
  rows: readonly IdentityRow[],
  windowDays: number,
  nowMs: number,
  leakSource: LeakSource | null = null,
  options: FactsOptions = {},
): Promise<IdentityFacts[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((x) => x.id);
  const scope: Scope = {
    ids,
    range: options.contiguous ? { after: options.after ?? null, last: ids[ids.length - 1]! } : null,
  };
  const g = r.governance;
  const since = nowMs - windowDays * DAY_MS;
  const [tags, methods, nodes, leases, usage, leaked] = await Promise.all([
    g.listTags(scope),
    g.listMethods(scope),
    g.listUidNodes(scope),
    g.listLeases(scope),
    g.listUsage(scope, since),
    leakSource ? leakSource(r, ids, nowMs) : Promise.resolve([]),
  ]);
  const grants = await g.listGrants(
    scope,
    methods.map((m) => m.id),
    options.catalogue ?? null,
  );
  const roleById = new Map(grants.roles.map((x) => [x.id, x]));
  const methodById = new Map(methods.map((m) => [m.id, m]));

  const by = <T>(xs: readonly T[], key: (x: T) => string) => {
    const map = new Map<string, T[]>();
    for (const x of xs) {
      const list = map.get(key(x));
      if (list) list.push(x);
      else map.set(key(x), [x]);
    }
    return map;
  };
  const tagsOf = by(tags, (t) => t.identity_id);
  const methodsOf = by(methods, (m) => m.identity_id);
  const nodesOf = by(nodes, (x) => x.identity_id);
  const leasesOf = by(leases, (x) => x.identity_id);
  const usageOf = by(usage, (u) => u.identity_id);
  const rulesOf = by(grants.rules, (x) => x.role_id);
  const leaksOf = by(leaked, (x) => x.identityId);
  const rolesOfMethod = new Map<string, string[]>(); // in the order roles were reached
  for (const [roleId, via] of grants.reach)
    for (const methodId of via) {
      const list = rolesOfMethod.get(methodId);
      if (list) list.push(roleId);
      else rolesOfMethod.set(methodId, [roleId]);
    }

  return rows.map((row) => {
    const own = usageOf.get(row.id) ?? [];
    const src = own.filter((u) => u.kind === 'src');
    const sourcesOf = (credentialId: string) =>
      [
        ...new Set(src.filter((u) => u.subject === credentialId && u.detail !== '').map((u) => u.detail)),
      ].slice(0, MAX_SOURCES);
    const lastUse = (credentialId: string) => {
      const hits = src.filter((u) => u.subject === credentialId).map((u) => u.last_at);
      return hits.length > 0 ? Math.max(...hits) : null;
    };
    const credentials: CredentialView[] = [];
    for (const m of methodsOf.get(row.id) ?? []) {
      const settings = parse(m.settings);
      const expiresAtMs = num(m.expires_at);
      const live = expiresAtMs === null || expiresAtMs > nowMs;
      const base = {
        id: m.id,
        via: m.name,
        createdAtMs: Number(m.created_at),
        expiresAtMs,
        lastUsedAtMs: lastUse(m.id),
        live,
        sources: sourcesOf(m.id),
      };
      if (m.type === 'access_key')
        credentials.push({
          ...base,
          kind: 'access_key',
          authMethod: 'access_key',
          lastRotatedAtMs: null,
          ttlSeconds: null,
          facts: { isAdmin: Number(m.is_admin) === 1 },
        });
      else if (m.type === 'oauth_client')
        credentials.push({
          ...base,
          kind: 'oauth_client',
          authMethod: String(settings.tokenEndpointAuthMethod ?? 'client_secret_basic'),
          lastRotatedAtMs: Number(m.updated_at),
          ttlSeconds: num(settings.jwtTtlSeconds),
          facts: { dpopBound: settings.dpopBoundAccessTokens === true },
        });
      else if (m.type === 'oidc_federation')
        credentials.push({
          ...base,
          kind: 'federation_binding',
          authMethod: 'oidc_federation',
          lastRotatedAtMs: null,
          ttlSeconds: num(settings.jwtTtlSeconds),
          facts: { boundClaims: settings.boundClaims ?? {}, issuer: settings.issuer ?? null },
        });
    }
    for (const x of nodesOf.get(row.id) ?? [])
      credentials.push({
        id: x.id,
        kind: 'uid_token',
        via: x.via,
        authMethod: 'universal_identity',
        createdAtMs: Number(x.created_at),
        expiresAtMs: Number(x.expires_at),
        lastRotatedAtMs: num(x.last_rotated_at),
        lastUsedAtMs: lastUse(x.id),
        ttlSeconds: Number(x.ttl_seconds),
        live: Number(x.expires_at) > nowMs,
        sources: sourcesOf(x.id),
        facts: {},
      });
    for (const x of leasesOf.get(row.id) ?? [])
      credentials.push({
        id: x.id,
        kind: 'lease',
        via: x.item_name,
        authMethod: null,
        createdAtMs: Number(x.created_at),
        expiresAtMs: Number(x.expires_at),
        lastRotatedAtMs: null,
        lastUsedAtMs: null,
        ttlSeconds: Math.round((Number(x.max_expires_at) - Number(x.created_at)) / 1000),
        live: Number(x.expires_at) > nowMs,
        sources: [],
        facts: { state: x.state },
      });

    const grantViews: GrantView[] = [];
    for (const m of methodsOf.get(row.id) ?? [])
      for (const roleId of rolesOfMethod.get(m.id) ?? []) {
        const role = roleById.get(roleId);
        if (!role) continue;
        const builtin = Number(role.builtin) === 1;
        if (builtin) {
          grantViews.push({
            roleId,
            roleName: role.name,
            builtin,
            ruleType: '*',
            path: '*',
            capabilities: ['read', 'list', 'create', 'update', 'delete'],
            via: methodById.get(m.id)?.name ?? m.id,
          });
          continue;
        }
        for (const rule of rulesOf.get(roleId) ?? []) {
          if (rule.expires_at !== null && Number(rule.expires_at) <= nowMs) continue;
          grantViews.push({
            roleId,
            roleName: role.name,
            builtin,
            ruleType: rule.rule_type as RuleType,
            path: rule.path,
            capabilities: JSON.parse(rule.capabilities) as Capability[],
            via: m.name,
          });
        }
      }
    const used: UsageView[] = own
      .filter((u) => u.kind === 'perm')
      .map((u) => {
        const [ruleType = '', action = ''] = u.subject.split('|');
        return { ruleType, action, path: u.detail, count: u.count, lastAtMs: u.last_at };
      });
    const identityTags = (tagsOf.get(row.id) ?? []).map((t) => t.tag).sort();
    const management: Management = identityTags.includes('discovered')
      ? 'discovered'
      : credentials.some((c) => c.kind === 'federation_binding')
        ? 'federated'
        : identityTags.includes('shared')
          ? 'shared'
          : 'tessera-issued';
    return {
      id: row.id,
      name: row.name,
      kind: row.kind as IdentityKind,
      owner: row.owner,
      environment: row.environment,
      tags: identityTags,
      state: row.state as IdentityState,
      createdAtMs: Number(row.created_at),
      lastUsedAtMs: row.last_used_at,
      management,
      ownership: ownership(row.owner, identityTags),
      credentials,
      grants: grantViews,
      used,
      interactive: src.filter((u) => u.detail !== '').map((u) => ({ sourceIp: u.detail, atMs: u.last_at })),
      leaks: (leaksOf.get(row.id) ?? []).map(({ identityId: _, ...leak }): LeakFact => leak),
    };
  });
}

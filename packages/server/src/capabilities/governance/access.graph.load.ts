/**
 * Loads the part of the estate an effective-access question needs (ADR 0043), set-based: the rules
 * of the asked type (and those that edit roles and auth methods), the roles whose effective rules
 * hold them, their associations, the auth methods and identities behind those, and the OAuth
 * clients that may act for other clients. A handful of queries whatever the estate's size.
 */
import type { ClaimFilter } from '../../core/access/access.claims.js';
import type { Capability, Resource, RuleType } from '../../core/access/access.policy.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';
import { type AccessEstate, type GraphMethod, rolesReaching } from './access.graph.js';

const json = <T>(s: string | null, fallback: T): T => {
  try {
    return s === null ? fallback : (JSON.parse(s) as T);
  } catch {
    return fallback;
  }
};

export async function loadAccessEstate(
  r: ReadRepos,
  resource: Resource,
  nowMs: number,
): Promise<AccessEstate> {
  const g = r.governance;
  const [{ roles, includes }, ruleRows, delegators] = await Promise.all([
    g.listGraphRoles(),
    g.listGraphRules([...new Set([resource.type, '*', 'role', 'auth-method'])]),
    g.listGraphDelegators(nowMs),
  ]);
  const rules = ruleRows
    .filter((x) => x.expires_at === null || Number(x.expires_at) > nowMs)
    .map((x) => ({
      roleId: x.role_id,
      ruleType: x.rule_type as RuleType,
      path: x.path,
      capabilities: json<Capability[]>(x.capabilities, []),
      conditional: x.expires_at !== null || (x.conditions !== null && x.conditions !== 'null'),
    }));
  const inclusion = includes.map((e) => ({ roleId: e.role_id, includedId: e.included_id }));
  const relevant = rolesReaching(new Set(rules.map((x) => x.roleId)), inclusion);
  const byRole = await g.listGraphAssociations('role_id', [...relevant]);
  const delegatorIds = delegators.map((m) => m.id);
  // Every association of the methods involved: the roles they hold matter for escalation.
  const methodIds = [...new Set([...byRole.map((a) => a.auth_method_id), ...delegatorIds])];
  const byMethod = await g.listGraphAssociations('auth_method_id', methodIds);
  const known = new Set(delegatorIds);
  const methodRows = [
    ...delegators,
    ...(await g.listGraphMethods(
      methodIds.filter((id) => !known.has(id)),
      nowMs,
    )),
  ];
  const methods: GraphMethod[] = methodRows.map((m) => {
    const settings = json<Record<string, unknown>>(m.settings, {});
    const mayActFor = Array.isArray(settings.mayActFor) ? settings.mayActFor.map(String) : [];
    return { id: m.id, name: m.name, type: m.type, identityId: m.identity_id, mayActFor };
  });
  const identityIds = [...new Set(methods.map((m) => m.identityId))];
  const [identities, tags] = await Promise.all([
    g.listGraphIdentities(identityIds),
    g.listTags({ ids: identityIds, range: null }),
  ]);
  const tagsOf = new Map<string, string[]>();
  for (const t of tags) tagsOf.set(t.identity_id, [...(tagsOf.get(t.identity_id) ?? []), t.tag]);
  const associations = new Map(
    [...byRole, ...byMethod].map((a) => [
      a.id,
      { id: a.id, roleId: a.role_id, methodId: a.auth_method_id, claims: json<ClaimFilter>(a.claims, {}) },
    ]),
  );
  return {
    identities: new Map(identities.map((i) => [i.id, { ...i, tags: tagsOf.get(i.id) ?? [] }])),
    methods,
    roles: new Map(roles.map((x) => [x.id, { id: x.id, name: x.name, builtin: Number(x.builtin) === 1 }])),
    includes: inclusion,
    associations: [...associations.values()],
    rules,
  };
}

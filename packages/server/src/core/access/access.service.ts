import type { Principal } from '../sessions/sessions.model.js';
import type { Clock } from '../shared/platform.port.js';
import type { ReadRepos, UnitOfWork } from '../shared/unit-of-work.js';
import { type ClaimIdentity, needsIdentity, type PrincipalClaims, principalClaims } from './access.claims.js';
import type { AccessContext, TargetAttributes } from './access.conditions.js';
import { type CallExplainer, type Explanation, explainAccess } from './access.explain.js';
import {
  type AccessDecision,
  type Action,
  buildMethodPolicy,
  decideAccess,
  type MethodPolicy,
  type PolicyRole,
  type Resource,
} from './access.policy.js';

/**
 * How long a compiled policy (or an identity's claims) is trusted without a reload. Changes made
 * through this server drop it at once; on PostgreSQL other servers hear of a change by NOTIFY at
 * its commit, and this bounds staleness should a notification be lost.
 */
export const ACCESS_CACHE_MS = 2000;

/** What the HTTP layer knows about a request beyond its principal. */
export interface AccessRequest {
  /** The source address; null or absent when unknown (CIDR conditions then fail closed). */
  sourceIp?: string | null;
  /** The instant to decide at; the service clock when absent. */
  nowMs?: number;
}

/**
 * Looks up the owner and tags of the object at `path` of one resource type (null: no such
 * object). Capabilities register one for their own kind of object (`mcp-tool`: the upstream
 * server's identity); the decision itself stays pure (ADR 0042).
 */
export type TargetResolver = (r: ReadRepos, path: string) => Promise<TargetAttributes | null>;

/** The owner an item's tags name: the value of its first `owner:` tag (items have no owner field). */
export function ownerFromTags(tags: readonly string[]): string | null {
  const tag = tags.find((t) => t.startsWith('owner:') && t.length > 'owner:'.length);
  return tag ? tag.slice('owner:'.length) : null;
}

/** Items: a static secret's tags, its owner from an `owner:` tag (ADR 0042). */
const itemTarget: TargetResolver = async (r, path) => {
  const item = await r.secrets.get(path);
  if (!item || item.deletedAtMs !== null) return null;
  return { owner: ownerFromTags(item.tags), tags: item.tags };
};

interface LoadedPolicy {
  policy: MethodPolicy;
  /** Some claim filter or condition tests identity attributes: look the identity up. */
  needsIdentity: boolean;
  /** Resource types some rule has a target condition for: look the target up for those. */
  targetTypes: ReadonlySet<string>;
}

/** Loads an auth method's associations and every role they reach (inclusion followed, cycle-safe). */
async function loadPolicy(r: ReadRepos, authMethodId: string): Promise<LoadedPolicy> {
  const associations = await r.roles.listAssociations({ authMethodId });
  const roles = new Map<string, PolicyRole & { rules: PolicyRole['rules'][number][]; includes: string[] }>();
  for (let frontier = [...new Set(associations.map((a) => a.roleId))]; frontier.length > 0; ) {
    const [found, rules, edges] = await Promise.all([
      r.roles.getRolesById(frontier),
      r.roles.listRules(frontier),
      r.roles.listIncludes(frontier),
    ]);
    for (const role of found) roles.set(role.id, { id: role.id, name: role.name, rules: [], includes: [] });
    for (const rule of rules) roles.get(rule.roleId)?.rules.push(rule);
    for (const edge of edges) roles.get(edge.roleId)?.includes.push(edge.includedId);
    frontier = [...new Set(edges.map((e) => e.includedId))].filter((id) => !roles.has(id));
  }
  const policy = buildMethodPolicy(
    associations.map((a) => ({ id: a.id, roleId: a.roleId, claims: a.claims })),
    roles,
  );
  const identityNeeded =
    policy.associations.some((a) => needsIdentity(a.claims)) ||
    [...roles.values()].some((role) =>
      role.rules.some((rule) => needsIdentity(rule.conditions?.claims) || !!rule.conditions?.target?.owner),
    );
  const targetTypes = new Set<string>();
  for (const role of roles.values())
    for (const rule of role.rules) if (rule.conditions?.target) targetTypes.add(rule.ruleType);
  return { policy, needsIdentity: identityNeeded, targetTypes };
}

/**
 * Resolves a principal's policy — the roles associated with its auth method, compiled, cached per
 * auth method (and, inside the policy, per set of matching associations: per claim set) — and
 * decides requests with the pure policy function. `invalidate` drops what a change made stale.
 */
export function createAccessService({
  uow,
  clock,
  cacheMs = ACCESS_CACHE_MS,
}: {
  uow: UnitOfWork;
  clock: Clock;
  cacheMs?: number;
}) {
  const policies = new Map<string, { loaded: LoadedPolicy; atMs: number }>();
  const identities = new Map<string, { identity: ClaimIdentity | null; atMs: number }>();
  const targetResolvers = new Map<string, TargetResolver>([['item', itemTarget]]);
  const callExplainers = new Map<
    string,
    { explain: CallExplainer; audience: (path: string) => string | null }
  >();
  const targets = new Map<string, { target: TargetAttributes | null; atMs: number }>();
  /** Bumped by `invalidate`: a load that began before a change is not cached after it. */
  let generation = 0;

  /** Loads in flight, so a burst of requests on a cold cache reads the store once. */
  const loading = new Map<string, { promise: Promise<LoadedPolicy>; generation: number }>();

  async function policyFor(authMethodId: string): Promise<LoadedPolicy> {
    const now = clock.nowMs();
    const hit = policies.get(authMethodId);
    if (hit && now - hit.atMs < cacheMs) return hit.loaded;
    const pending = loading.get(authMethodId);
    if (pending && pending.generation === generation) return pending.promise;
    const started = generation;
    const promise = uow.read((r) => loadPolicy(r, authMethodId));
    loading.set(authMethodId, { promise, generation: started });
    try {
      const loaded = await promise;
      if (started === generation) {
        if (policies.size > 10_000) policies.clear();
        policies.set(authMethodId, { loaded, atMs: now });
      }
      return loaded;
    } finally {
      if (loading.get(authMethodId)?.promise === promise) loading.delete(authMethodId);
    }
  }

  async function identityOf(identityId: string): Promise<ClaimIdentity | null> {
    const now = clock.nowMs();
    const hit = identities.get(identityId);
    if (hit && now - hit.atMs < cacheMs) return hit.identity;
    const found = await uow.read((r) => r.identities.get(identityId));
    const identity = found
      ? {
          name: found.name,
          kind: found.kind,
          environment: found.environment,
          tags: found.tags,
          owner: found.owner,
        }
      : null;
    if (identities.size > 10_000) identities.clear();
    identities.set(identityId, { identity, atMs: now });
    return identity;
  }

  /** The principal's claims: the session's, plus its identity's when some filter needs them. */
  async function claimsOf(principal: Principal, loaded: LoadedPolicy): Promise<PrincipalClaims> {
    return principalClaims(principal, loaded.needsIdentity ? await identityOf(principal.identityId) : null);
  }

  /** The target's attributes when some rule on its type has a target condition (else undefined). */
  async function targetOf(
    loaded: LoadedPolicy,
    resource: Resource,
  ): Promise<TargetAttributes | null | undefined> {
    if (!loaded.targetTypes.has(resource.type) && !loaded.targetTypes.has('*')) return undefined;
    const resolve = targetResolvers.get(resource.type);
    if (!resolve) return null;
    const key = `${resource.type}\u0000${resource.path}`;
    const now = clock.nowMs();
    const hit = targets.get(key);
    if (hit && now - hit.atMs < cacheMs) return hit.target;
    const target = await uow.read((r) => resolve(r, resource.path));
    if (targets.size > 10_000) targets.clear();
    targets.set(key, { target, atMs: now });
    return target;
  }

  async function contextFor(
    principal: Principal,
    loaded: LoadedPolicy,
    request: AccessRequest,
    resource: Resource,
  ): Promise<AccessContext> {
    const target = await targetOf(loaded, resource);
    return {
      nowMs: request.nowMs ?? clock.nowMs(),
      sourceIp: request.sourceIp ?? null,
      claims: await claimsOf(principal, loaded),
      ...(target !== undefined ? { target } : {}),
    };
  }

  return {
    /** Decides `action` on `resource` for `principal` (ADR 0008). */
    async authorize(
      principal: Principal,
      action: Action,
      resource: Resource,
      request: AccessRequest = {},
    ): Promise<AccessDecision> {
      const loaded = await policyFor(principal.authMethodId);
      return decideAccess(
        loaded.policy,
        action,
        resource,
        await contextFor(principal, loaded, request, resource),
      );
    },

    /** The decision with its reasons: matched associations and rules that did not apply. */
    async explain(
      principal: Principal,
      action: Action,
      resource: Resource,
      request: AccessRequest = {},
    ): Promise<Explanation> {
      const loaded = await policyFor(principal.authMethodId);
      return explainAccess(
        loaded.policy,
        action,
        resource,
        await contextFor(principal, loaded, request, resource),
      );
    },

    /** Forgets cached policies and claims (after a change to roles, associations or methods). */
    invalidate(authMethodId?: string) {
      generation++;
      if (authMethodId) policies.delete(authMethodId);
      else {
        policies.clear();
        identities.clear();
        targets.clear();
      }
    },

    /** How a capability's kind of object is looked up for target conditions (ADR 0042). */
    registerTarget(type: Resource['type'], resolve: TargetResolver) {
      targetResolvers.set(type, resolve);
      targets.clear();
    },

    /** What a capability's own stages say of a `call` on its kind of object (explain only). */
    registerCallExplainer(
      type: Resource['type'],
      explain: CallExplainer,
      /** The audience of the front door serving `path` (an MCP gateway URL), or null. */
      audience: (path: string) => string | null = () => null,
    ) {
      callExplainers.set(type, { explain, audience });
    },
    callExplainer: (type: Resource['type']): CallExplainer | null =>
      callExplainers.get(type)?.explain ?? null,
    /** The audience whose tokens may explain their own `call` on `path` (see `registerCallExplainer`). */
    callAudience: (type: Resource['type'], path: string): string | null =>
      callExplainers.get(type)?.audience(path) ?? null,
  };
}

export type AccessService = ReturnType<typeof createAccessService>;

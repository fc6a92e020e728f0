/**
 * The effective-access graph (issue 16, ADR 0043): who can reach a resource, and through which path
 * — an auth method's role associations (narrowed by their claim filter), role inclusion, OAuth
 * token-exchange delegation (`mayActFor`) — and who can grant itself more (the right to edit a role
 * it holds, or to associate the administrator role with its own auth method). Pure: the service
 * loads the part of the estate that matters and hands it over.
 */
import { type ClaimFilter, claimsMatch } from '../../core/access/access.claims.js';
import {
  type Capability,
  pathMatches,
  type Resource,
  type RuleType,
} from '../../core/access/access.policy.js';

/** The longest delegation chain followed (as token exchange bounds `act` depth). */
const MAX_DELEGATION_DEPTH = 4;
const ADMIN_ROLE = 'tessera-admin';

export interface GraphIdentity {
  id: string;
  name: string;
  kind: string;
  owner: string;
  environment: string | null;
  state: string;
  tags: readonly string[];
}
export interface GraphMethod {
  id: string;
  name: string;
  type: string;
  identityId: string;
  /** OAuth clients: the client ids (or names) whose tokens this one may exchange (RFC 8693). */
  mayActFor: readonly string[];
}
export interface GraphRule {
  roleId: string;
  ruleType: RuleType;
  path: string;
  capabilities: readonly Capability[];
  /** Has conditions or an expiry: applies only to some requests. */
  conditional: boolean;
}
export interface AccessEstate {
  identities: ReadonlyMap<string, GraphIdentity>;
  methods: readonly GraphMethod[];
  roles: ReadonlyMap<string, { id: string; name: string; builtin: boolean }>;
  includes: readonly { roleId: string; includedId: string }[];
  associations: readonly { id: string; roleId: string; methodId: string; claims: ClaimFilter }[];
  rules: readonly GraphRule[];
}

/** One hop of a path, from the identity to the rule. */
export interface PathStep {
  kind: 'identity' | 'auth-method' | 'delegation' | 'association' | 'role' | 'includes' | 'rule';
  name: string;
  detail?: Record<string, unknown>;
}
export interface AccessPath {
  via: 'association' | 'delegation';
  capabilities: Capability[];
  /** Applies to some requests only (claim filter on UID subtrees, rule conditions or expiry). */
  conditional: boolean;
  /** A deny rule reaching the same principal overrides it. */
  denied: boolean;
  steps: PathStep[];
}
export interface Escalation {
  identityId: string;
  identityName: string;
  /** Roles it holds and may edit (add any rule to). */
  canEditOwnRoles: string[];
  /** Its own auth methods it may associate the administrator role with. */
  canAssociateAdministrator: string[];
  steps: PathStep[];
}
export interface Reacher {
  identityId: string;
  identityName: string;
  kind: string;
  owner: string;
  state: string;
  /** The capabilities some non-denied path grants. */
  capabilities: Capability[];
  paths: AccessPath[];
  /** Present when the identity can also grant itself more (and so reach anything). */
  escalation: Escalation | null;
}
export interface WhoCan {
  resource: Resource;
  reachers: Reacher[];
  /** Every identity that can grant itself more, whether or not it reaches the resource today. */
  escalations: Escalation[];
}

/** A role held through one association of one method, with the inclusion chain that led to it. */
interface Held {
  methodId: string;
  associationId: string;
  claims: ClaimFilter;
  /** Outermost first: the associated role, then each included role. */
  chain: string[];
  conditional: boolean;
}

const slash = (name: string) => (name.startsWith('/') ? name : `/${name}`);
const typeMatches = (rule: GraphRule, type: string) => rule.ruleType === type || rule.ruleType === '*';

/** Whether a claim filter admits the identity: statically, never, or only for some UID subtrees. */
function admits(filter: ClaimFilter, who: GraphIdentity): 'yes' | 'no' | 'some' {
  const { 'uid-subtree': subtree, ...rest } = filter;
  const claims = {
    'identity-id': [who.id],
    'identity-name': [who.name],
    kind: [who.kind],
    ...(who.environment !== null ? { environment: [who.environment] } : {}),
    tag: who.tags,
  };
  if (!claimsMatch(rest, claims)) return 'no';
  return subtree ? 'some' : 'yes';
}

/** The roles every method holds (association, then inclusion, each role once per association). */
function heldRoles(estate: AccessEstate): Map<string, Held[]> {
  const includesOf = new Map<string, string[]>();
  for (const e of estate.includes)
    includesOf.set(e.roleId, [...(includesOf.get(e.roleId) ?? []), e.includedId]);
  const methodById = new Map(estate.methods.map((m) => [m.id, m]));
  const out = new Map<string, Held[]>();
  for (const a of estate.associations) {
    const method = methodById.get(a.methodId);
    const who = method && estate.identities.get(method.identityId);
    if (!who || !estate.roles.has(a.roleId)) continue;
    const admitted = admits(a.claims, who);
    if (admitted === 'no') continue;
    const list = out.get(a.methodId) ?? [];
    const seen = new Set([a.roleId]);
    const queue: string[][] = [[a.roleId]];
    for (let k = 0; k < queue.length; k++) {
      const chain = queue[k]!;
      list.push({
        methodId: a.methodId,
        associationId: a.id,
        claims: a.claims,
        chain,
        conditional: admitted === 'some',
      });
      for (const next of includesOf.get(chain[chain.length - 1]!) ?? [])
        if (!seen.has(next) && estate.roles.has(next)) {
          seen.add(next);
          queue.push([...chain, next]);
        }
    }
    out.set(a.methodId, list);
  }
  return out;
}

function roleSteps(estate: AccessEstate, h: Held): PathStep[] {
  const name = (id: string) => estate.roles.get(id)?.name ?? id;
  return [
    {
      kind: 'association',
      name: h.associationId,
      ...(Object.keys(h.claims).length > 0 ? { detail: { claims: h.claims } } : {}),
    },
    { kind: 'role', name: name(h.chain[0]!) },
    ...h.chain.slice(1).map((id): PathStep => ({ kind: 'includes', name: name(id) })),
  ];
}

/** The paths by which each method's own principal reaches `resource` (no identity prefix yet). */
function methodPaths(estate: AccessEstate, held: Map<string, Held[]>, resource: Resource) {
  const rulesOf = new Map<string, GraphRule[]>();
  for (const r of estate.rules)
    if (typeMatches(r, resource.type) && pathMatches(r.path, resource.path))
      rulesOf.set(r.roleId, [...(rulesOf.get(r.roleId) ?? []), r]);
  const out = new Map<string, AccessPath[]>();
  for (const [methodId, roles] of held) {
    const grants: AccessPath[] = [];
    let deniedAlways = false;
    let deniedSometimes = false;
    for (const h of roles)
      for (const rule of rulesOf.get(h.chain[h.chain.length - 1]!) ?? []) {
        const conditional = h.conditional || rule.conditional;
        if (rule.capabilities.includes('deny')) {
          if (conditional) deniedSometimes = true;
          else deniedAlways = true;
          continue;
        }
        grants.push({
          via: 'association',
          capabilities: [...rule.capabilities],
          conditional,
          denied: false,
          steps: [
            ...roleSteps(estate, h),
            {
              kind: 'rule',
              name: `${rule.ruleType}:${rule.path}`,
              detail: { capabilities: rule.capabilities },
            },
          ],
        });
      }
    if (grants.length === 0) continue;
    for (const g of grants) {
      g.denied = deniedAlways;
      g.conditional ||= deniedSometimes;
    }
    out.set(methodId, grants);
  }
  return out;
}

/** Who holds an update grant on `role:/<name>` / `auth-method:/<name>`, per method. */
function canUpdate(estate: AccessEstate, roles: readonly Held[], type: 'role' | 'auth-method', name: string) {
  for (const h of roles)
    for (const rule of estate.rules)
      if (
        rule.roleId === h.chain[h.chain.length - 1] &&
        typeMatches(rule, type) &&
        rule.capabilities.includes('update') &&
        !rule.capabilities.includes('deny') &&
        pathMatches(rule.path, slash(name))
      )
        return { held: h, rule };
  return null;
}

/** Escalation paths of every identity holding a non-builtin role (administrators are excluded). */
function escalations(estate: AccessEstate, held: Map<string, Held[]>): Map<string, Escalation> {
  const byIdentity = new Map<string, { methods: GraphMethod[]; roles: Held[] }>();
  for (const m of estate.methods) {
    const roles = held.get(m.id) ?? [];
    const cur = byIdentity.get(m.identityId) ?? { methods: [], roles: [] };
    cur.methods.push(m);
    cur.roles.push(...roles);
    byIdentity.set(m.identityId, cur);
  }
  const out = new Map<string, Escalation>();
  for (const [identityId, { methods, roles }] of byIdentity) {
    const who = estate.identities.get(identityId);
    if (!who || who.state !== 'active') continue;
    if (roles.some((h) => h.chain.some((id) => estate.roles.get(id)?.builtin))) continue;
    const steps: PathStep[] = [];
    const editable: string[] = [];
    for (const roleName of new Set(roles.flatMap((h) => h.chain.map((id) => estate.roles.get(id)!.name)))) {
      const hit = canUpdate(estate, roles, 'role', roleName);
      if (!hit) continue;
      editable.push(roleName);
      steps.push(...roleSteps(estate, hit.held), {
        kind: 'rule',
        name: `${hit.rule.ruleType}:${hit.rule.path}`,
        detail: { capabilities: hit.rule.capabilities, edits: `role:/${roleName}` },
      });
    }
    const adminRole = canUpdate(estate, roles, 'role', ADMIN_ROLE);
    const ownMethods = adminRole
      ? methods.filter((m) => canUpdate(estate, roles, 'auth-method', m.name)).map((m) => m.name)
      : [];
    if (adminRole && ownMethods.length > 0)
      steps.push(...roleSteps(estate, adminRole.held), {
        kind: 'rule',
        name: `${adminRole.rule.ruleType}:${adminRole.rule.path}`,
        detail: { capabilities: adminRole.rule.capabilities, edits: `role:/${ADMIN_ROLE}` },
      });
    if (editable.length === 0 && ownMethods.length === 0) continue;
    out.set(identityId, {
      identityId,
      identityName: who.name,
      canEditOwnRoles: editable,
      canAssociateAdministrator: ownMethods,
      steps: [{ kind: 'identity', name: who.name }, ...steps],
    });
  }
  return out;
}

/**
 * Who can reach `resource`: each identity with every path (direct through its auth methods, or
 * delegated through OAuth clients that may act for another client, transitively), the
 * capabilities they grant, and escalation paths.
 */
export function whoCan(estate: AccessEstate, resource: Resource): WhoCan {
  const held = heldRoles(estate);
  const direct = methodPaths(estate, held, resource);
  const methodById = new Map(estate.methods.map((m) => [m.id, m]));
  const methodStep = (m: GraphMethod): PathStep => ({
    kind: 'auth-method',
    name: m.name,
    detail: { type: m.type },
  });
  const identityStep = (m: GraphMethod): PathStep => ({
    kind: 'identity',
    name: estate.identities.get(m.identityId)?.name ?? m.identityId,
  });
  // Paths of principals of each method: its own, then those it gains by acting for other clients.
  const reach = new Map<string, AccessPath[]>();
  for (const [methodId, paths] of direct)
    reach.set(
      methodId,
      paths.map((p) => ({ ...p, steps: [methodStep(methodById.get(methodId)!), ...p.steps] })),
    );
  const targetsOf = (m: GraphMethod) =>
    estate.methods.filter(
      (t) => t.id !== m.id && (m.mayActFor.includes(t.id) || m.mayActFor.includes(t.name)),
    );
  for (let depth = 0; depth < MAX_DELEGATION_DEPTH; depth++) {
    let grew = false;
    for (const actor of estate.methods) {
      if (actor.mayActFor.length === 0) continue;
      const mine = reach.get(actor.id) ?? [];
      for (const target of targetsOf(actor))
        for (const p of reach.get(target.id) ?? []) {
          const steps: PathStep[] = [
            methodStep(actor),
            {
              kind: 'delegation',
              name: target.name,
              detail: {
                grant: 'urn:ietf:params:oauth:grant-type:token-exchange',
                actsFor: estate.identities.get(target.identityId)?.name ?? target.identityId,
              },
            },
            ...p.steps,
          ];
          const key = JSON.stringify(steps);
          if (steps.filter((s) => s.kind === 'delegation').length > MAX_DELEGATION_DEPTH) continue;
          if (mine.some((x) => JSON.stringify(x.steps) === key)) continue;
          mine.push({ ...p, via: 'delegation', steps });
          grew = true;
        }
      if (mine.length > 0) reach.set(actor.id, mine);
    }
    if (!grew) break;
  }
  const esc = escalations(estate, held);
  const reachers = new Map<string, Reacher>();
  for (const [methodId, paths] of reach) {
    const m = methodById.get(methodId)!;
    const who = estate.identities.get(m.identityId);
    if (!who) continue;
    const r = reachers.get(who.id) ?? {
      identityId: who.id,
      identityName: who.name,
      kind: who.kind,
      owner: who.owner,
      state: who.state,
      capabilities: [],
      paths: [],
      escalation: esc.get(who.id) ?? null,
    };
    for (const p of paths) r.paths.push({ ...p, steps: [identityStep(m), ...p.steps] });
    const caps = new Set(r.paths.filter((p) => !p.denied).flatMap((p) => p.capabilities));
    r.capabilities = [...caps].sort();
    reachers.set(who.id, r);
  }
  return {
    resource,
    reachers: [...reachers.values()].sort((a, b) => a.identityName.localeCompare(b.identityName)),
    escalations: [...esc.values()].sort((a, b) => a.identityName.localeCompare(b.identityName)),
  };
}

/**
 * The roles whose effective rules include one of `ruleRoleIds` (themselves and every role
 * including them, transitively): the associations worth loading for a question.
 */
export function rolesReaching(
  ruleRoleIds: Iterable<string>,
  includes: AccessEstate['includes'],
): Set<string> {
  const includedBy = new Map<string, string[]>();
  for (const e of includes) includedBy.set(e.includedId, [...(includedBy.get(e.includedId) ?? []), e.roleId]);
  const out = new Set(ruleRoleIds);
  for (const queue = [...out]; queue.length > 0; )
    for (const parent of includedBy.get(queue.pop()!) ?? [])
      if (!out.has(parent)) {
        out.add(parent);
        queue.push(parent);
      }
  return out;
}

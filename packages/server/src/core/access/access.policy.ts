/**
 * The policy decision: pure functions of (rules, action, resource, context) returning allow/deny, the
 * reason and the rule that decided. Default deny; a matching `deny` beats every grant; a rule past its
 * expiry, or whose conditions fail for the request, does not apply (ADR 0008).
 */
import { type ClaimFilter, claimsMatch } from './access.claims.js';
import { type AccessContext, failsClosed, notApplied, type RuleConditions } from './access.conditions.js';

export type { AccessContext, RuleConditions } from './access.conditions.js';

/** `call`: invoking a tool through the MCP gateway (`mcp-tool` rules, issue 15). */
export const CAPABILITIES = ['read', 'list', 'create', 'update', 'delete', 'call', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type Action = Exclude<Capability, 'deny'>;

/**
 * What a rule is about. Extensible: a new kind of object adds its word here (and its Akeyless
 * spelling in `roles.model.ts`). `*` (native API only) matches every type. `scope` is an OAuth
 * scope a client may carry in its tokens (`read` on `scope:/<scope>`, issue 12). `mcp-tool` is a
 * tool behind the MCP gateway (`call` on `mcp-tool:/<server>/<tool>`, issue 15). `resource-server` is a
 * registered OAuth resource server (`resource-server:/<name>`, ADR 0038).
 */
export const RULE_TYPES = [
  'item',
  'auth-method',
  'role',
  'identity',
  'audit',
  'scope',
  'mcp-tool',
  'pki',
  'resource-server',
] as const;
export type ResourceType = (typeof RULE_TYPES)[number];
export type RuleType = ResourceType | '*';

export interface Rule {
  id: string;
  ruleType: RuleType;
  /** `*` matches any characters including `/`; `+` matches exactly one path segment. */
  path: string;
  capabilities: readonly Capability[];
  /** The rule stops applying at this instant (Akeyless `ttl`). */
  expiresAtMs?: number | null;
  conditions?: RuleConditions | null;
}

/** The object of a request: its kind and its name as a path (`/` + the name). */
export interface Resource {
  type: ResourceType;
  path: string;
}

export interface Decision {
  allowed: boolean;
  reason: 'granted' | 'denied-by-rule' | 'no-matching-rule';
  rule: Rule | null;
}

const compiled = new Map<string, RegExp>();

function patternToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '+' ? '[^/]+' : ch.replace(/[.?^${}()|[\]\\/]/g, '\\$&')))
      .join('');
    // `s` (dotAll): `*` is any characters, line breaks included (ADR 0008); without it a name
    // holding a line break would slip past `/prefix/*`, deny rules included.
    re = new RegExp(`^${body}$`, 's');
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/** True when `path` matches the rule pattern. */
export function pathMatches(pattern: string, path: string): boolean {
  return patternToRegExp(pattern).test(path);
}

interface CompiledRule {
  rule: Rule;
  /** Position in the rule list: the first matching grant is the one reported. */
  order: number;
  /** The pattern up to its first wildcard: a cheap pre-filter before the expression. */
  prefix: string;
  /** Null when the pattern has no wildcard (an exact path). */
  re: RegExp | null;
  deny: boolean;
  /** Has an expiry or conditions: checked against the context once the path matches. */
  conditional: boolean;
}

interface CompiledSet {
  /** Rules whose pattern starts with a literal first segment (`/team-a/…`), by that segment. */
  bySegment: Map<string, CompiledRule[]>;
  /** Rules that can match any first segment (`*`, `/+/…`, `/te*`). */
  anySegment: CompiledRule[];
}

const NONE: CompiledRule[] = [];

/** `/a/b` → `a`; `/a` → `a`; null when the path has no literal, complete first segment. */
function firstSegment(path: string, complete: boolean): string | null {
  if (!path.startsWith('/')) return null;
  const end = path.indexOf('/', 1);
  if (end === -1) return complete ? path.slice(1) : null;
  return path.slice(1, end);
}

/**
 * Rule sets are compiled once per array (the access service caches one per auth method and claim
 * set) and indexed by their first path segment, so a decision over 1,000 rules looks at the few that
 * can match rather than at all of them.
 */
const compiledSets = new WeakMap<readonly Rule[], CompiledSet>();

function compile(rules: readonly Rule[]): CompiledSet {
  let set = compiledSets.get(rules);
  if (!set) {
    set = { bySegment: new Map(), anySegment: [] };
    rules.forEach((rule, order) => {
      const wildcard = rule.path.search(/[*+]/);
      const prefix = wildcard === -1 ? rule.path : rule.path.slice(0, wildcard);
      const compiledRule: CompiledRule = {
        rule,
        order,
        prefix,
        re: wildcard === -1 ? null : patternToRegExp(rule.path),
        deny: rule.capabilities.includes('deny'),
        conditional: (rule.expiresAtMs !== undefined && rule.expiresAtMs !== null) || !!rule.conditions,
      };
      const segment = firstSegment(prefix, wildcard === -1);
      if (segment === null || (wildcard !== -1 && !prefix.slice(1).includes('/'))) {
        set!.anySegment.push(compiledRule);
      } else {
        const bucket = set!.bySegment.get(segment) ?? [];
        bucket.push(compiledRule);
        set!.bySegment.set(segment, bucket);
      }
    });
    compiledSets.set(rules, set);
  }
  return set;
}

/**
 * Decides whether `rules` allow `action` on `resource`. `list` is implied by any other grant. A rule
 * with an expiry or conditions applies only when they hold for `context`; without a context such a
 * grant never applies and such a deny always does (fail closed), and likewise for a CIDR condition
 * when the source address is unknown.
 */
export function decide(
  rules: readonly Rule[],
  action: Action,
  resource: Resource,
  context?: AccessContext,
): Decision {
  const { path, type } = resource;
  const set = compile(rules);
  const segment = firstSegment(path, true);
  const a = segment === null ? NONE : (set.bySegment.get(segment) ?? NONE);
  const b = set.anySegment;
  let grant: Rule | null = null;
  // Walk both candidate lists in rule order.
  for (let i = 0, j = 0; i < a.length || j < b.length; ) {
    const c = j >= b.length || (i < a.length && a[i]!.order < b[j]!.order) ? a[i++]! : b[j++]!;
    const rule = c.rule;
    if (rule.ruleType !== '*' && rule.ruleType !== type) continue;
    if (!path.startsWith(c.prefix)) continue;
    if (c.re ? !c.re.test(path) : path !== c.prefix) continue;
    if (c.conditional) {
      const why = notApplied(rule.expiresAtMs, rule.conditions, context);
      if (why !== null && !(c.deny && failsClosed(why))) continue;
    }
    if (c.deny) return { allowed: false, reason: 'denied-by-rule', rule };
    if (
      !grant &&
      (rule.capabilities.includes(action) || (action === 'list' && rule.capabilities.length > 0))
    ) {
      grant = rule;
    }
  }
  return grant
    ? { allowed: true, reason: 'granted', rule: grant }
    : { allowed: false, reason: 'no-matching-rule', rule: null };
}

/** The rule of the built-in administrator role: every capability on everything. */
export const ADMIN_RULE_ID = 'builtin:admin';
export const ADMIN_RULES: readonly Rule[] = [
  {
    id: ADMIN_RULE_ID,
    ruleType: '*',
    path: '*',
    capabilities: ['read', 'list', 'create', 'update', 'delete'],
  },
];

// ------------------------------------------------------------------------------------------------
// Roles, associations and the principal's effective rules

/** A rule as a principal holds it: with the role that holds it and the association it came through. */
export interface EffectiveRule extends Rule {
  role: string;
  associationId: string;
}

/** A role as the policy sees it: its rules and the ids of the roles it includes. */
export interface PolicyRole {
  id: string;
  name: string;
  rules: readonly Rule[];
  includes: readonly string[];
}

/** An association of a role with the auth method, narrowed by a claim filter. */
export interface PolicyAssociation {
  id: string;
  roleId: string;
  claims: ClaimFilter;
}

/** What an auth method's associations grant, each with its rules flattened through role inclusion. */
export interface MethodPolicy {
  associations: ReadonlyArray<{
    id: string;
    role: string;
    claims: ClaimFilter;
    rules: readonly EffectiveRule[];
  }>;
  /** The effective rules when no association has a claim filter (the common case), else null. */
  unfiltered: readonly EffectiveRule[] | null;
}

/** An access decision with where its rule came from. */
export interface AccessDecision extends Decision {
  rule: EffectiveRule | null;
  /** The role holding the deciding rule (possibly included by the associated role). */
  role: string | null;
  /** The association the deciding rule came through. */
  association: string | null;
}

/**
 * Flattens role inclusion: each association gets the rules of its role and of every role it
 * includes, transitively, each role once (cycle-safe even if the store holds a cycle). Pure.
 */
export function buildMethodPolicy(
  associations: readonly PolicyAssociation[],
  roles: ReadonlyMap<string, PolicyRole>,
): MethodPolicy {
  const out: Array<MethodPolicy['associations'][number]> = [];
  for (const association of associations) {
    const root = roles.get(association.roleId);
    if (!root) continue;
    const rules: EffectiveRule[] = [];
    const seen = new Set<string>([root.id]);
    const queue: PolicyRole[] = [root];
    for (let k = 0; k < queue.length; k++) {
      const role = queue[k]!;
      for (const rule of role.rules) rules.push({ ...rule, role: role.name, associationId: association.id });
      for (const id of role.includes) {
        const included = roles.get(id);
        if (included && !seen.has(id)) {
          seen.add(id);
          queue.push(included);
        }
      }
    }
    out.push({ id: association.id, role: root.name, claims: association.claims, rules });
  }
  const filtered = out.some((a) => Object.keys(a.claims).length > 0);
  return { associations: out, unfiltered: filtered ? null : merge(out) };
}

/** The rules of several associations in order, each rule once (the first association reaching it). */
function merge(associations: MethodPolicy['associations']): readonly EffectiveRule[] {
  const seen = new Set<string>();
  const rules: EffectiveRule[] = [];
  for (const a of associations) {
    for (const rule of a.rules) {
      if (seen.has(rule.id)) continue;
      seen.add(rule.id);
      rules.push(rule);
    }
  }
  return rules;
}

/** Per policy: the merged rules of each set of matching associations (the decision's compiled input). */
const ruleSets = new WeakMap<MethodPolicy, Map<string, readonly EffectiveRule[]>>();

/** The rules in force for a principal with `claims`: those of every association whose filter matches. */
export function effectiveRules(
  policy: MethodPolicy,
  matches: (filter: ClaimFilter) => boolean,
): readonly EffectiveRule[] {
  if (policy.unfiltered) return policy.unfiltered;
  let key = '';
  for (let i = 0; i < policy.associations.length; i++)
    if (matches(policy.associations[i]!.claims)) key += `${i},`;
  let sets = ruleSets.get(policy);
  if (!sets) {
    sets = new Map();
    ruleSets.set(policy, sets);
  }
  let rules = sets.get(key);
  if (!rules) {
    rules = merge(policy.associations.filter((a) => matches(a.claims)));
    if (sets.size >= 1000) sets.clear();
    sets.set(key, rules);
  }
  return rules;
}

/**
 * The decision (ADR 0008): the principal's effective rules are those of every role associated with
 * its auth method whose claim filter matches `context.claims`, plus the roles they include, minus
 * expired rules and rules whose conditions fail for `context`; then {@link decide}.
 */
export function decideAccess(
  policy: MethodPolicy,
  action: Action,
  resource: Resource,
  context: AccessContext,
): AccessDecision {
  const rules = effectiveRules(policy, (filter) => claimsMatch(filter, context.claims));
  const decision = decide(rules, action, resource, context);
  const rule = decision.rule as EffectiveRule | null;
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    rule,
    role: rule?.role ?? null,
    association: rule?.associationId ?? null,
  };
}

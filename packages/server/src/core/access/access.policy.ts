/**
 * The policy decision: a pure function of (rules, action, resource) returning allow/deny, the reason
 * and the rule that decided. Default deny; a matching `deny` beats every grant.
 */
export const CAPABILITIES = ['read', 'list', 'create', 'update', 'delete', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type Action = Exclude<Capability, 'deny'>;

/** What a rule is about: `*` matches every type. Extensible (items, roles… arrive with their capabilities). */
export type RuleType = 'identity' | 'auth-method' | 'uid' | 'audit' | '*';

export interface Rule {
  id: string;
  ruleType: RuleType;
  /** `*` matches any characters including `/`; `+` matches exactly one path segment. */
  path: string;
  capabilities: Capability[];
}

export interface Resource {
  type: Exclude<RuleType, '*'>;
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
    re = new RegExp(`^${body}$`);
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
 * Rule sets are compiled once per array (the access service caches one per auth method) and
 * indexed by their first path segment, so a decision over 1,000 rules looks at the few that can
 * match rather than at all of them.
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

/** Decides whether `rules` allow `action` on `resource`. `list` is implied by any other grant. */
export function decide(rules: readonly Rule[], action: Action, resource: Resource): Decision {
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

/** The rules of the bootstrap administrator: everything. */
export const ADMIN_RULES: readonly Rule[] = [
  {
    id: 'builtin:admin',
    ruleType: '*',
    path: '*',
    capabilities: ['read', 'list', 'create', 'update', 'delete'],
  },
];

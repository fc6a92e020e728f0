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

/** Decides whether `rules` allow `action` on `resource`. `list` is implied by any other grant. */
export function decide(rules: readonly Rule[], action: Action, resource: Resource): Decision {
  let grant: Rule | null = null;
  for (const rule of rules) {
    if (rule.ruleType !== '*' && rule.ruleType !== resource.type) continue;
    if (!pathMatches(rule.path, resource.path)) continue;
    if (rule.capabilities.includes('deny')) return { allowed: false, reason: 'denied-by-rule', rule };
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

import { describe, expect, it } from 'vitest';
import {
  type Action,
  ADMIN_RULES,
  CAPABILITIES,
  type Capability,
  type Decision,
  decide,
  pathMatches,
  type Resource,
  RULE_TYPES,
  type Rule,
  type RuleType,
} from './access.policy.js';

const ACTIONS: Action[] = ['read', 'list', 'create', 'update', 'delete'];
const TYPES: Exclude<RuleType, '*'>[] = [...RULE_TYPES];
const PATHS = ['/prod/db/main', '/prod/db', '/prod/config', '/dev/db/main', '/', '/a.b/c'];

let n = 0;
const rule = (path: string, capabilities: Capability[], ruleType: RuleType = '*'): Rule => ({
  id: `r${++n}`,
  ruleType,
  path,
  capabilities,
});

describe('decide: default deny', () => {
  it.each(ACTIONS)('refuses %s on every resource when there are no rules', (action) => {
    for (const type of TYPES) {
      for (const path of PATHS) {
        const d = decide([], action, { type, path });
        expect(d).toEqual({ allowed: false, reason: 'no-matching-rule', rule: null });
      }
    }
  });

  it('refuses when only non-matching rules exist', () => {
    const rules = [rule('/dev/*', ['read', 'list', 'create', 'update', 'delete'])];
    for (const action of ACTIONS) {
      const d = decide(rules, action, { type: 'identity', path: '/prod/db/main' });
      expect(d.allowed).toBe(false);
      expect(d.reason).toBe('no-matching-rule');
    }
  });

  it('refuses a rule with no capabilities, even for list', () => {
    const rules = [rule('*', [])];
    for (const action of ACTIONS)
      expect(decide(rules, action, { type: 'item', path: '/x' }).allowed).toBe(false);
  });
});

describe('decide: action × capability', () => {
  // Every single-capability rule against every action: allowed exactly when the capability is the
  // action, or the action is `list` (implied by any grant); `deny` never allows.
  for (const capability of CAPABILITIES) {
    for (const action of ACTIONS) {
      const expected = capability !== 'deny' && (capability === action || action === 'list');
      it(`capability ${capability} ${expected ? 'allows' : 'refuses'} ${action}`, () => {
        const r = rule('/prod/*', [capability]);
        const d = decide([r], action, { type: 'identity', path: '/prod/db' });
        expect(d.allowed).toBe(expected);
        expect(d.reason).toBe(
          expected ? 'granted' : capability === 'deny' ? 'denied-by-rule' : 'no-matching-rule',
        );
        expect(d.rule).toBe(expected || capability === 'deny' ? r : null);
      });
    }
  }
});

describe('decide: deny beats allow', () => {
  it.each(ACTIONS)('a matching deny refuses %s whatever the order of rules', (action) => {
    const allow = rule('*', ['read', 'list', 'create', 'update', 'delete']);
    const deny = rule('/prod/+/main', ['deny']);
    const resource: Resource = { type: 'identity', path: '/prod/db/main' };
    for (const rules of [
      [allow, deny],
      [deny, allow],
    ]) {
      const d = decide(rules, action, resource);
      expect(d).toEqual({ allowed: false, reason: 'denied-by-rule', rule: deny });
    }
    // Outside the denied pattern, the grant still applies.
    expect(decide([allow, deny], action, { type: 'identity', path: '/prod/db/replica' }).allowed).toBe(true);
  });

  it('a deny mixed with grants in one rule still denies', () => {
    const r = rule('/prod/*', ['read', 'deny']);
    expect(decide([r], 'read', { type: 'identity', path: '/prod/x' }).reason).toBe('denied-by-rule');
  });

  it('a deny of another rule type does not refuse', () => {
    const rules = [rule('*', ['read']), rule('*', ['deny'], 'item')];
    expect(decide(rules, 'read', { type: 'identity', path: '/x' }).allowed).toBe(true);
    expect(decide(rules, 'read', { type: 'item', path: '/x' }).allowed).toBe(false);
  });

  it('returns the first matching grant as the deciding rule', () => {
    const a = rule('/prod/*', ['read']);
    const b = rule('*', ['read']);
    expect(decide([a, b], 'read', { type: 'identity', path: '/prod/x' }).rule).toBe(a);
    expect(decide([a, b], 'read', { type: 'identity', path: '/dev/x' }).rule).toBe(b);
  });
});

describe('decide: ruleType filtering', () => {
  for (const ruleType of [...TYPES, '*'] as RuleType[]) {
    for (const type of TYPES) {
      const expected = ruleType === '*' || ruleType === type;
      it(`a ${ruleType} rule ${expected ? 'applies to' : 'ignores'} a ${type} resource`, () => {
        const d = decide([rule('*', ['read'], ruleType)], 'read', { type, path: '/any/path' });
        expect(d.allowed).toBe(expected);
      });
    }
  }
});

describe('pathMatches: * and + patterns', () => {
  const cases: Array<[pattern: string, path: string, matches: boolean]> = [
    ['*', '/', true],
    ['*', '/prod/db/main', true],
    ['*', '', true],
    ['/prod/*', '/prod/db', true],
    ['/prod/*', '/prod/db/main', true], // * crosses segments
    ['/prod/*', '/prod/', true],
    ['/prod/*', '/prod', false],
    ['/prod/*', '/production/db', false],
    ['/prod/*', '/dev/prod/db', false], // anchored at the start
    ['/+/config', '/prod/config', true],
    ['/+/config', '/dev/config', true],
    ['/+/config', '/prod/eu/config', false], // + is exactly one segment
    ['/+/config', '//config', false], // + is not empty
    ['/+/config', '/prod/config/x', false], // anchored at the end
    ['/prod/+', '/prod/db', true],
    ['/prod/+', '/prod/db/', false],
    ['/+/+/main', '/prod/db/main', true],
    ['/prod/db', '/prod/db', true],
    ['/prod/db', '/prod/db2', false],
    ['/prod/db', '/Prod/db', false], // case-sensitive
    // Regular-expression characters in patterns are literal.
    ['/a.b/c', '/a.b/c', true],
    ['/a.b/c', '/axb/c', false],
    ['/a?/c', '/a?/c', true],
    ['/a?/c', '/a/c', false],
    ['/(x|y)', '/(x|y)', true],
    ['/(x|y)', '/x', false],
    ['/[ab]', '/a', false],
    ['/[ab]', '/[ab]', true],
    ['/^$', '/^$', true],
    ['/a{2}', '/aa', false],
    ['/back\\slash', '/back\\slash', true],
    ['/x*y', '/x/anything/y', true],
    ['/x*y', '/x/anything/z', false],
  ];
  it.each(cases)('%s against %s → %s', (pattern, path, matches) => {
    expect(pathMatches(pattern, path)).toBe(matches);
  });

  it('stays correct once its compiled-pattern cache has been cleared', () => {
    for (let i = 0; i < 10_050; i++) pathMatches(`/p${i}/*`, `/p${i}/x`);
    expect(pathMatches('/+/config', '/prod/config')).toBe(true);
    expect(pathMatches('/+/config', '/a/b/config')).toBe(false);
  });
});

describe('decide: pattern × path × action grid', () => {
  // The full product for one read rule and one deny rule: the answer must be a function of the
  // two path matches alone.
  const patterns = ['*', '/prod/*', '/+/db', '/prod/db/main', '/dev/+/main'];
  for (const grant of patterns) {
    for (const denied of patterns) {
      it(`grant ${grant} with deny ${denied}`, () => {
        const g = rule(grant, ['read', 'update']);
        const d = rule(denied, ['deny']);
        for (const path of PATHS) {
          for (const action of ACTIONS) {
            const decision = decide([g, d], action, { type: 'identity', path });
            const deniedHere = pathMatches(denied, path);
            const grantedHere = pathMatches(grant, path) && ['read', 'update', 'list'].includes(action);
            expect(decision.allowed).toBe(!deniedHere && grantedHere);
            expect(decision.reason).toBe(
              deniedHere ? 'denied-by-rule' : grantedHere ? 'granted' : 'no-matching-rule',
            );
          }
        }
      });
    }
  }
});

describe('ADMIN_RULES', () => {
  it('allow every action on every resource type and path', () => {
    for (const action of ACTIONS) {
      for (const type of TYPES) {
        for (const path of PATHS) expect(decide(ADMIN_RULES, action, { type, path }).allowed).toBe(true);
      }
    }
  });

  it('are still subject to an explicit deny', () => {
    const d = decide([...ADMIN_RULES, rule('/prod/*', ['deny'])], 'read', { type: 'audit', path: '/prod/x' });
    expect(d.allowed).toBe(false);
  });
});

describe('the indexed decision agrees with a plain scan', () => {
  /** The reference: every rule in order, no index. */
  function naive(rules: readonly Rule[], action: Action, resource: Resource): Decision {
    let grant: Rule | null = null;
    for (const rule of rules) {
      if (rule.ruleType !== '*' && rule.ruleType !== resource.type) continue;
      if (!pathMatches(rule.path, resource.path)) continue;
      if (rule.capabilities.includes('deny')) return { allowed: false, reason: 'denied-by-rule', rule };
      if (
        !grant &&
        (rule.capabilities.includes(action) || (action === 'list' && rule.capabilities.length > 0))
      )
        grant = rule;
    }
    return grant
      ? { allowed: true, reason: 'granted', rule: grant }
      : { allowed: false, reason: 'no-matching-rule', rule: null };
  }

  it('on 3,000 random rule sets and requests', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const segments = ['a', 'b', 'ab', 'prod', 'x', '*', '+', 'a*', '*b', ''];
    const pattern = () =>
      Array.from({ length: 1 + rnd(3) }, () => segments[rnd(segments.length)])
        .join('/')
        .replace(/^/, rnd(5) ? '/' : '');
    const caps: Rule['capabilities'][] = [['read'], ['list'], ['deny'], ['create', 'update'], ['delete']];
    const types: Rule['ruleType'][] = ['identity', 'auth-method', '*'];
    const actions: Action[] = ['read', 'list', 'create', 'update', 'delete'];
    for (let k = 0; k < 3000; k++) {
      const rules: Rule[] = Array.from({ length: rnd(12) }, (_, i) => ({
        id: `r${i}`,
        ruleType: types[rnd(types.length)]!,
        path: pattern(),
        capabilities: caps[rnd(caps.length)]!,
      }));
      const resource: Resource = {
        type: rnd(2) ? 'identity' : 'auth-method',
        path: pattern().replace(/[*+]/g, 'q'),
      };
      const action = actions[rnd(actions.length)]!;
      expect(decide(rules, action, resource), JSON.stringify({ rules, resource, action })).toEqual(
        naive(rules, action, resource),
      );
    }
  });
});

import { describe, expect, it } from 'vitest';
import { type ClaimFilter, principalClaims } from './access.claims.js';
import type { AccessContext, RuleConditions } from './access.conditions.js';
import { explainAccess } from './access.explain.js';
import {
  type Action,
  buildMethodPolicy,
  CAPABILITIES,
  type Capability,
  decide,
  decideAccess,
  effectiveRules,
  type PolicyRole,
  type Rule,
} from './access.policy.js';

const ACTIONS: Action[] = ['read', 'list', 'create', 'update', 'delete'];
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // Monday 23 November 2026, 12:00 UTC
const ctx = (over: Partial<AccessContext> = {}): AccessContext => ({
  nowMs: NOW,
  sourceIp: '10.1.2.3',
  claims: {},
  ...over,
});

let n = 0;
const rule = (path: string, capabilities: Capability[], extra: Partial<Rule> = {}): Rule => ({
  id: `r${++n}`,
  ruleType: 'item',
  path,
  capabilities,
  ...extra,
});

/** Each kind of pattern with paths it must match and paths it must not. */
const PATTERNS: Record<string, { pattern: string; matches: string[]; misses: string[] }> = {
  exact: {
    pattern: '/prod/db',
    matches: ['/prod/db'],
    misses: ['/prod/db/x', '/prod', '/prod/db2', '/dev/db'],
  },
  star: { pattern: '*', matches: ['/prod/db', '/x', '/', '/a/b/c/d'], misses: [] },
  plus: { pattern: '/+/db', matches: ['/prod/db', '/dev/db'], misses: ['/prod/eu/db', '/db', '/prod/db/x'] },
  'prefix-star': {
    pattern: '/prod/*',
    matches: ['/prod/db', '/prod/db/x', '/prod/'],
    misses: ['/prod', '/production/db', '/dev/prod/db'],
  },
  'name-star': {
    pattern: '/prod/db-*',
    matches: ['/prod/db-1', '/prod/db-1/x', '/prod/db-'],
    misses: ['/prod/db', '/prod/dbx', '/dev/db-1'],
  },
};

/** The expected answer, stated plainly: a grant needs the capability (or any, for list); deny wins. */
function expected(capability: Capability, action: Action, matches: boolean, denied: boolean) {
  if (!matches) return 'none';
  if (denied || capability === 'deny') return 'deny';
  return capability === action || action === 'list' ? 'allow' : 'none';
}

describe('decide: capability × pattern × deny (enumerated)', () => {
  for (const [kind, { pattern, matches, misses }] of Object.entries(PATTERNS)) {
    describe(`${kind} pattern ${pattern}`, () => {
      for (const capability of CAPABILITIES) {
        for (const denyMode of ['no deny', 'deny on the same pattern', 'deny elsewhere'] as const) {
          it(`${capability}, ${denyMode}`, () => {
            const grant = rule(pattern, [capability]);
            const rules =
              denyMode === 'no deny'
                ? [grant]
                : denyMode === 'deny on the same pattern'
                  ? [grant, rule(pattern, ['deny'])]
                  : [grant, rule('/elsewhere/*', ['deny'])];
            for (const action of ACTIONS) {
              for (const path of [...matches, ...misses]) {
                const isMatch = matches.includes(path);
                const denied = denyMode === 'deny on the same pattern' && isMatch;
                const want = expected(capability, action, isMatch, denied);
                const d = decide(rules, action, { type: 'item', path });
                const where = `${action} ${path}`;
                expect(d.allowed, where).toBe(want === 'allow');
                expect(d.reason, where).toBe(
                  want === 'allow' ? 'granted' : want === 'deny' ? 'denied-by-rule' : 'no-matching-rule',
                );
                if (want === 'allow') expect(d.rule, where).toBe(grant);
              }
            }
          });
        }
      }
    });
  }

  it('deny beats an admin-like grant on every type, action and path', () => {
    const admin = rule('*', ['read', 'list', 'create', 'update', 'delete'], { ruleType: '*' });
    const deny = rule('/prod/*', ['deny'], { ruleType: '*' });
    for (const type of ['item', 'auth-method', 'role', 'identity', 'audit'] as const) {
      for (const action of ACTIONS) {
        expect(decide([admin, deny], action, { type, path: '/prod/x' }).reason).toBe('denied-by-rule');
        expect(decide([admin, deny], action, { type, path: '/dev/x' }).allowed).toBe(true);
      }
    }
  });
});

describe('decide: expiry', () => {
  const T = NOW + 60_000;
  it.each([
    [NOW, true],
    [T - 1, true],
    [T, false],
    [T + 1, false],
  ])('a grant expiring at T, decided at %s → %s', (nowMs, allowed) => {
    const r = rule('/a/*', ['read'], { expiresAtMs: T });
    expect(decide([r], 'read', { type: 'item', path: '/a/x' }, ctx({ nowMs })).allowed).toBe(allowed);
  });

  it('an expired deny no longer refuses; a live one does', () => {
    const grant = rule('/a/*', ['read']);
    const deny = rule('/a/*', ['deny'], { expiresAtMs: T });
    const at = (nowMs: number) =>
      decide([grant, deny], 'read', { type: 'item', path: '/a/x' }, ctx({ nowMs }));
    expect(at(T - 1).reason).toBe('denied-by-rule');
    expect(at(T).allowed).toBe(true);
  });
});

const grantWith = (conditions: RuleConditions) => rule('/a/*', ['read'], { conditions });
const denyWith = (conditions: RuleConditions) => [
  rule('/a/*', ['read']),
  rule('/a/*', ['deny'], { conditions }),
];
const read = (rules: Rule[], c?: AccessContext) => decide(rules, 'read', { type: 'item', path: '/a/x' }, c);

describe('decide: conditions', () => {
  it.each([
    ['10.1.2.3', true],
    ['10.255.0.1', true],
    ['192.168.1.1', false],
    ['::1', false],
    [null, false],
  ])('a grant bound to 10.0.0.0/8 from %s → %s', (sourceIp, allowed) => {
    expect(read([grantWith({ cidrs: ['10.0.0.0/8'] })], ctx({ sourceIp })).allowed).toBe(allowed);
  });

  it.each([
    ['10.1.2.3', false],
    ['192.168.1.1', true],
    [null, false], // unknown source: the deny applies (fail closed)
  ])('a deny bound to 10.0.0.0/8 from %s → allowed %s', (sourceIp, allowed) => {
    expect(read(denyWith({ cidrs: ['10.0.0.0/8'] }), ctx({ sourceIp })).allowed).toBe(allowed);
  });

  const at = (day: number, hour: number) => Date.UTC(2026, 10, 22 + day, hour, 30); // day 0 = Sunday
  it.each([
    [1, 9, true],
    [1, 16, true],
    [1, 17, false],
    [1, 8, false],
    [5, 12, true],
    [6, 12, false], // Saturday
    [0, 12, false], // Sunday
  ])('a grant for mon–fri 9–17 UTC on day %s at %s:30 → %s', (day, hour, allowed) => {
    const r = grantWith({
      timeWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], fromHour: 9, toHour: 17 },
    });
    expect(read([r], ctx({ nowMs: at(day, hour) })).allowed).toBe(allowed);
  });

  it.each([
    [23, true],
    [22, true],
    [2, true],
    [6, false],
    [12, false],
  ])('a window 22 → 6 wraps past midnight: %s:30 → %s', (hour, allowed) => {
    expect(
      read([grantWith({ timeWindow: { fromHour: 22, toHour: 6 } })], ctx({ nowMs: at(3, hour) })).allowed,
    ).toBe(allowed);
  });

  it('a time-window deny refuses only inside its window', () => {
    const rules = denyWith({ timeWindow: { fromHour: 0, toHour: 6 } });
    expect(read(rules, ctx({ nowMs: at(2, 3) })).allowed).toBe(false);
    expect(read(rules, ctx({ nowMs: at(2, 12) })).allowed).toBe(true);
  });

  it('claim conditions: every key, any value', () => {
    const r = grantWith({ claims: { environment: ['prod', 'staging'], kind: ['service'] } });
    const claims = (environment: string, kind: string) => ({ environment: [environment], kind: [kind] });
    expect(read([r], ctx({ claims: claims('prod', 'service') })).allowed).toBe(true);
    expect(read([r], ctx({ claims: claims('staging', 'service') })).allowed).toBe(true);
    expect(read([r], ctx({ claims: claims('dev', 'service') })).allowed).toBe(false);
    expect(read([r], ctx({ claims: claims('prod', 'ai-agent') })).allowed).toBe(false);
    expect(read([r], ctx({ claims: {} })).allowed).toBe(false);
  });

  it('all conditions must hold', () => {
    const r = grantWith({ cidrs: ['10.0.0.0/8'], timeWindow: { fromHour: 9, toHour: 17 } });
    expect(read([r], ctx()).allowed).toBe(true);
    expect(read([r], ctx({ sourceIp: '11.0.0.1' })).allowed).toBe(false);
    expect(read([r], ctx({ nowMs: at(1, 20) })).allowed).toBe(false);
  });

  it('without a context a conditional grant never applies and a conditional deny always does', () => {
    expect(read([grantWith({ cidrs: ['0.0.0.0/0'] })]).allowed).toBe(false);
    expect(read([rule('/a/*', ['read'], { expiresAtMs: NOW + 1e9 })]).allowed).toBe(false);
    expect(read(denyWith({ timeWindow: { fromHour: 0, toHour: 1 } })).reason).toBe('denied-by-rule');
    expect(read([rule('/a/*', ['read'])]).allowed).toBe(true); // unconditional rules need none
  });
});

describe('decide: target conditions (resource attributes, ADR 0042)', () => {
  const agent = principalClaims(
    { identityId: 'i-agent', uidNodeId: null, uidNodePath: null },
    { name: '/agents/a', kind: 'ai-agent', environment: null, tags: [], owner: 'alice@example.com' },
  );
  const on = (owner: string | null, tags: string[] = []) => ctx({ claims: agent, target: { owner, tags } });

  it("principal-owner: the target's owner is the principal's owner", () => {
    const r = grantWith({ target: { owner: 'principal-owner' } });
    expect(read([r], on('alice@example.com')).allowed).toBe(true);
    expect(read([r], on('bob@example.com')).allowed).toBe(false);
    expect(read([r], on(null)).allowed).toBe(false);
  });

  it('principal: the target is owned by the principal itself, by id or name', () => {
    const r = grantWith({ target: { owner: 'principal' } });
    expect(read([r], on('i-agent')).allowed).toBe(true);
    expect(read([r], on('/agents/a')).allowed).toBe(true);
    expect(read([r], on('alice@example.com')).allowed).toBe(false);
  });

  it('tags: every one must be on the target', () => {
    const r = grantWith({ target: { tags: ['project', 'team-a'] } });
    expect(read([r], on(null, ['team-a', 'project', 'x'])).allowed).toBe(true);
    expect(read([r], on(null, ['team-a'])).allowed).toBe(false);
  });

  it('an unknown target fails closed: a grant does not apply, a deny does', () => {
    const unknown = ctx({ claims: agent, target: null });
    expect(read([grantWith({ target: { owner: 'principal-owner' } })], unknown).allowed).toBe(false);
    expect(read(denyWith({ target: { tags: ['frozen'] } }), unknown).reason).toBe('denied-by-rule');
    expect(read(denyWith({ target: { tags: ['frozen'] } }), on(null, [])).allowed).toBe(true);
  });

  it('explain names the failed target condition', () => {
    const policy = buildMethodPolicy(
      [{ id: 'as-1', roleId: 'r', claims: {} }],
      new Map([
        [
          'r',
          {
            id: 'r',
            name: 'owners',
            rules: [grantWith({ target: { owner: 'principal-owner' } })],
            includes: [],
          },
        ],
      ]),
    );
    const e = explainAccess(policy, 'read', { type: 'item', path: '/a/x' }, on('bob@example.com'));
    expect(e.decision.allowed).toBe(false);
    expect(e.notApplied.map((n) => n.why)).toEqual(['target-owner']);
    expect(
      explainAccess(policy, 'read', { type: 'item', path: '/a/x' }, ctx({ claims: agent })).notApplied[0]
        ?.why,
    ).toBe('unknown-target');
  });
});

// ------------------------------------------------------------------------------------------------

function role(id: string, rules: Rule[], includes: string[] = []): PolicyRole {
  return { id, name: `role-${id}`, rules, includes };
}
const rolesOf = (...list: PolicyRole[]) => new Map(list.map((r) => [r.id, r]));
const assoc = (id: string, roleId: string, claims: ClaimFilter = {}) => ({ id, roleId, claims });

describe('decideAccess: associations narrowed by claims', () => {
  const roles = rolesOf(role('a', [rule('/a/*', ['read'])]), role('b', [rule('/b/*', ['read'])]));
  const policy = buildMethodPolicy(
    [assoc('ra-1', 'a'), assoc('ra-2', 'b', { environment: ['prod'] })],
    roles,
  );
  const can = (path: string, claims: AccessContext['claims']) =>
    decideAccess(policy, 'read', { type: 'item', path }, ctx({ claims }));

  it('an un-narrowed association applies to everyone; a narrowed one only to matching claims', () => {
    expect(can('/a/x', {}).allowed).toBe(true);
    expect(can('/b/x', {}).allowed).toBe(false);
    expect(can('/b/x', { environment: ['dev'] }).allowed).toBe(false);
    const prod = can('/b/x', { environment: ['prod'] });
    expect(prod).toMatchObject({ allowed: true, role: 'role-b', association: 'ra-2' });
  });

  it('uid-subtree matches the node and every node below it', () => {
    const p = buildMethodPolicy([assoc('ra-3', 'a', { 'uid-subtree': ['n2'] })], roles);
    const claimsAt = (path: string | null) =>
      principalClaims(
        { identityId: 'i-1', uidNodeId: path ? path.split('/').at(-2)! : null, uidNodePath: path },
        null,
      );
    const allowed = (path: string | null) =>
      decideAccess(p, 'read', { type: 'item', path: '/a/x' }, ctx({ claims: claimsAt(path) })).allowed;
    expect(allowed('/n1/n2/')).toBe(true);
    expect(allowed('/n1/n2/n3/')).toBe(true);
    expect(allowed('/n1/n2/n3/n4/')).toBe(true);
    expect(allowed('/n1/')).toBe(false); // the parent
    expect(allowed('/n1/n5/')).toBe(false); // a sibling
    expect(allowed('/n1/n22/')).toBe(false); // a prefix of the id is not the node
    expect(allowed(null)).toBe(false); // not from a UID token
  });

  it('several values of a key: any; several keys: all', () => {
    const p = buildMethodPolicy(
      [assoc('ra-4', 'a', { environment: ['prod', 'staging'], 'identity-name': ['billing'] })],
      roles,
    );
    const allowed = (claims: AccessContext['claims']) =>
      decideAccess(p, 'read', { type: 'item', path: '/a/x' }, ctx({ claims })).allowed;
    expect(allowed({ environment: ['staging'], 'identity-name': ['billing'] })).toBe(true);
    expect(allowed({ environment: ['prod'], 'identity-name': ['billing'] })).toBe(true);
    expect(allowed({ environment: ['prod'], 'identity-name': ['other'] })).toBe(false);
    expect(allowed({ 'identity-name': ['billing'] })).toBe(false);
  });

  it('compiles one rule set per set of matching associations', () => {
    const prod = effectiveRules(policy, (f) => !f.environment || f.environment.includes('prod'));
    const again = effectiveRules(policy, (f) => !f.environment || f.environment.includes('prod'));
    const dev = effectiveRules(policy, (f) => !f.environment);
    expect(again).toBe(prod);
    expect(prod).toHaveLength(2);
    expect(dev).toHaveLength(1);
    expect(buildMethodPolicy([assoc('ra-1', 'a')], roles).unfiltered).toHaveLength(1);
  });
});

describe('decideAccess: role inclusion', () => {
  it('follows inclusion transitively and reports the role holding the rule', () => {
    const roles = rolesOf(
      role('top', [rule('/top/*', ['read'])], ['mid']),
      role('mid', [], ['leaf']),
      role('leaf', [rule('/leaf/*', ['update'])]),
    );
    const policy = buildMethodPolicy([assoc('ra-1', 'top')], roles);
    const d = decideAccess(policy, 'update', { type: 'item', path: '/leaf/x' }, ctx());
    expect(d).toMatchObject({ allowed: true, role: 'role-leaf', association: 'ra-1' });
    expect(decideAccess(policy, 'update', { type: 'item', path: '/top/x' }, ctx()).allowed).toBe(false);
  });

  it('is robust to a cycle in the store: each role once', () => {
    const roles = rolesOf(
      role('x', [rule('/x/*', ['read'])], ['y']),
      role('y', [rule('/y/*', ['read'])], ['z']),
      role('z', [rule('/z/*', ['read'])], ['x', 'z']),
    );
    const policy = buildMethodPolicy([assoc('ra-1', 'y')], roles);
    expect(policy.unfiltered!.map((r) => r.role)).toEqual(['role-y', 'role-z', 'role-x']);
    for (const p of ['/x/1', '/y/1', '/z/1'])
      expect(decideAccess(policy, 'read', { type: 'item', path: p }, ctx()).allowed).toBe(true);
  });

  it('a deny in an included role beats a grant in the associated one', () => {
    const roles = rolesOf(
      role('ops', [rule('*', ['read'])], ['guard']),
      role('guard', [rule('/secret/*', ['deny'])]),
    );
    const policy = buildMethodPolicy([assoc('ra-1', 'ops')], roles);
    const d = decideAccess(policy, 'read', { type: 'item', path: '/secret/k' }, ctx());
    expect(d).toMatchObject({ allowed: false, reason: 'denied-by-rule', role: 'role-guard' });
  });

  it('a rule reached through two associations counts once, from the first', () => {
    const roles = rolesOf(role('a', [rule('/a/*', ['read'])]), role('b', [], ['a']));
    const policy = buildMethodPolicy([assoc('ra-1', 'b'), assoc('ra-2', 'a')], roles);
    expect(policy.unfiltered).toHaveLength(1);
    expect(decideAccess(policy, 'read', { type: 'item', path: '/a/x' }, ctx()).association).toBe('ra-1');
  });

  it('ignores associations of roles that no longer exist', () => {
    const policy = buildMethodPolicy([assoc('ra-1', 'gone')], rolesOf());
    expect(decideAccess(policy, 'read', { type: 'item', path: '/a' }, ctx())).toEqual({
      allowed: false,
      reason: 'no-matching-rule',
      rule: null,
      role: null,
      association: null,
    });
  });
});

describe('explainAccess', () => {
  it('names the matched associations and the rules that matched but did not apply', () => {
    const roles = rolesOf(
      role('a', [
        rule('/a/*', ['read'], { expiresAtMs: NOW - 1 }),
        rule('/a/*', ['update'], { conditions: { cidrs: ['192.168.0.0/16'] } }),
        rule('/b/*', ['read'], { expiresAtMs: NOW - 1 }),
      ]),
      role('b', [rule('*', ['read'])]),
    );
    const policy = buildMethodPolicy([assoc('ra-1', 'a'), assoc('ra-2', 'b', { kind: ['device'] })], roles);
    const e = explainAccess(policy, 'read', { type: 'item', path: '/a/x' }, ctx());
    expect(e.decision.allowed).toBe(false);
    expect(e.associations).toEqual([
      { id: 'ra-1', role: 'role-a', matched: true },
      { id: 'ra-2', role: 'role-b', matched: false },
    ]);
    expect(e.notApplied.map((s) => s.why)).toEqual(['expired', 'cidr']);
  });
});

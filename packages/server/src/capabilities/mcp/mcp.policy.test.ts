import { describe, expect, it } from 'vitest';
import { compareCatalogue } from './mcp.catalogue.js';
import {
  type CallContext,
  decideToolCall,
  policyProblem,
  type ServerPolicy,
  stateNeeded,
  targetsNeeded,
  toolVisible,
} from './mcp.policy.js';

const ctx = (over: Partial<CallContext> = {}): CallContext => ({
  nowMs: Date.UTC(2026, 0, 5, 10),
  callerName: '/agents/a',
  hops: 0,
  history: new Set(),
  recentCalls: [],
  ...over,
});

const policy: ServerPolicy = {
  rules: [
    {
      id: 'pay',
      tool: 'transfer',
      effect: 'allow',
      when: {
        args: [
          { arg: 'amount', op: '<=', value: 1000 },
          { arg: 'currency', op: 'in', value: ['EUR', 'USD'] },
        ],
        rate: { max: 2, windowSeconds: 60 },
      },
    },
    {
      id: 'files',
      tool: 'read_*',
      effect: 'allow',
      when: { args: [{ arg: 'path', op: 'under', value: '/srv/reports/**' }] },
    },
    {
      id: 'mail',
      tool: 'send_email',
      effect: 'allow',
      when: { args: [{ arg: 'to', op: 'glob', value: '*@example.com' }], maxHops: 2 },
    },
    { id: 'human', tool: 'delete_*', effect: 'allow', when: { delegated: true, callers: ['/agents/*'] } },
    { id: 'seq', tool: 'label:external-send', effect: 'deny', when: { after: ['sensitive-read'] } },
  ],
  tools: { send_email: { labels: ['external-send'] }, read_file: { labels: ['sensitive-read'] } },
};

describe('decideToolCall', () => {
  it('allows within the argument conditions and names the rule', () => {
    expect(decideToolCall(policy, 'transfer', { amount: 10, currency: 'EUR' }, ctx())).toMatchObject({
      allowed: true,
      rule: 'pay',
    });
  });

  it('denies outside them, naming the failed condition', () => {
    expect(decideToolCall(policy, 'transfer', { amount: 1001, currency: 'EUR' }, ctx())).toMatchObject({
      allowed: false,
      rule: 'pay',
      condition: 'args.amount <= 1000',
      reason: 'condition-failed',
    });
    expect(decideToolCall(policy, 'transfer', { amount: '5', currency: 'EUR' }, ctx()).allowed).toBe(false);
    expect(decideToolCall(policy, 'transfer', { amount: 5, currency: 'GBP' }, ctx()).condition).toMatch(
      /currency in/,
    );
    expect(decideToolCall(policy, 'transfer', { amount: Number.NaN, currency: 'EUR' }, ctx()).allowed).toBe(
      false,
    );
  });

  it('normalises paths before "under", and refuses prototype walking', () => {
    expect(decideToolCall(policy, 'read_file', { path: '/srv/reports/q3.txt' }, ctx()).allowed).toBe(true);
    expect(decideToolCall(policy, 'read_file', { path: '/srv/reports/../secrets' }, ctx()).allowed).toBe(
      false,
    );
    expect(decideToolCall(policy, 'read_file', { path: '/srv/reports-evil/x' }, ctx()).allowed).toBe(false);
    expect(decideToolCall(policy, 'read_file', { path: 'srv/reports/x' }, ctx()).allowed).toBe(false);
    expect(
      decideToolCall(policy, 'read_file', JSON.parse('{"__proto__":{"path":"/srv/reports/x"}}'), ctx())
        .allowed,
    ).toBe(false);
  });

  it('applies sequence, rate, delegation and caller conditions', () => {
    const mail = { to: 'bob@example.com' };
    expect(decideToolCall(policy, 'send_email', mail, ctx()).allowed).toBe(true);
    expect(
      decideToolCall(policy, 'send_email', mail, ctx({ history: new Set(['sensitive-read']) })),
    ).toMatchObject({
      allowed: false,
      rule: 'seq',
      reason: 'denied-by-rule',
    });
    expect(decideToolCall(policy, 'send_email', mail, ctx({ hops: 3 })).condition).toBe('maxHops 2');
    const now = ctx().nowMs;
    expect(
      decideToolCall(
        policy,
        'transfer',
        { amount: 1, currency: 'USD' },
        ctx({ recentCalls: [now - 1000, now - 2000] }),
      ).condition,
    ).toBe('rate 2/60s');
    expect(
      decideToolCall(
        policy,
        'transfer',
        { amount: 1, currency: 'USD' },
        ctx({ recentCalls: [now - 61_000, now - 2000] }),
      ).allowed,
    ).toBe(true);
    // Counts from the store (ADR 0045) stand in for the instants, window by window.
    const counted = (n: number) =>
      decideToolCall(
        policy,
        'transfer',
        { amount: 1, currency: 'USD' },
        ctx({ callCounts: new Map([[60, n]]) }),
      );
    expect(counted(2).condition).toBe('rate 2/60s');
    expect(counted(1).allowed).toBe(true);
    expect(decideToolCall(policy, 'delete_all', {}, ctx()).condition).toBe('delegated');
    expect(decideToolCall(policy, 'delete_all', {}, ctx({ hops: 1 })).allowed).toBe(true);
    expect(decideToolCall(policy, 'delete_all', {}, ctx({ hops: 1, callerName: '/svc/x' })).condition).toBe(
      'callers',
    );
  });

  it('denies by default', () => {
    expect(decideToolCall(policy, 'unknown', {}, ctx())).toEqual({
      allowed: false,
      rule: null,
      condition: null,
      reason: 'no-matching-rule',
    });
    expect(decideToolCall({ rules: [], tools: {} }, 'transfer', {}, ctx()).allowed).toBe(false);
  });

  it('shows in tools/list what some allow rule could admit', () => {
    expect(toolVisible(policy, 'transfer', ctx())).toBe(true);
    expect(toolVisible(policy, 'unknown', ctx())).toBe(false);
    expect(toolVisible(policy, 'delete_all', ctx())).toBe(false);
    expect(
      toolVisible(
        {
          rules: [
            { id: 'a', tool: '*', effect: 'allow' },
            { id: 'd', tool: 'x', effect: 'deny' },
          ],
          tools: {},
        },
        'x',
        ctx(),
      ),
    ).toBe(false);
  });

  it('checks policies from the wire', () => {
    expect(policyProblem(policy)).toBeNull();
    expect(
      policyProblem({
        rules: [
          { id: 'a', tool: '*', effect: 'allow' },
          { id: 'a', tool: '*', effect: 'deny' },
        ],
        tools: {},
      }),
    ).toMatch(/repeated/);
    expect(
      policyProblem({
        rules: [
          { id: 'a', tool: '*', effect: 'allow', when: { args: [{ arg: 'x', op: '<', value: 'one' }] } },
        ],
        tools: {},
      }),
    ).toMatch(/number/);
  });
});

describe('compareCatalogue', () => {
  it('marks tools approved, changed, new and removed', () => {
    const pinned = {
      a: { hash: 'h1', definition: { name: 'a' }, approvedAtMs: 0 },
      b: { hash: 'h2', definition: { name: 'b' }, approvedAtMs: 0 },
      gone: { hash: 'h3', definition: { name: 'gone' }, approvedAtMs: 0 },
    };
    const current = [
      { definition: { name: 'a' }, hash: 'h1' },
      { definition: { name: 'b' }, hash: 'CHANGED' },
      { definition: { name: 'c' }, hash: 'h4' },
    ];
    expect(compareCatalogue(current, pinned).map((e) => [e.name, e.status])).toEqual([
      ['a', 'approved'],
      ['b', 'changed'],
      ['c', 'new'],
      ['gone', 'removed'],
    ]);
  });
});

describe('sequence rules with a time window ("what it read a minute ago")', () => {
  const windowed: ServerPolicy = {
    rules: [
      { id: 'mail', tool: 'send_email', effect: 'allow' },
      {
        id: 'cool-down',
        tool: 'label:external-send',
        effect: 'deny',
        when: { after: ['sensitive-read'], afterWithinSeconds: 60 },
      },
    ],
    tools: { send_email: { labels: ['external-send'] } },
  };
  const now = Date.UTC(2026, 0, 5, 10);
  const mail = { to: 'bob@example.com' };

  it('denies within the window after the label, allows once it has passed', () => {
    const recent = ctx({ nowMs: now, history: new Map([['sensitive-read', now - 30_000]]) });
    expect(decideToolCall(windowed, 'send_email', mail, recent)).toMatchObject({
      allowed: false,
      rule: 'cool-down',
      condition: 'after sensitive-read within 60s',
    });
    const old = ctx({ nowMs: now, history: new Map([['sensitive-read', now - 61_000]]) });
    expect(decideToolCall(windowed, 'send_email', mail, old).allowed).toBe(true);
    expect(decideToolCall(windowed, 'send_email', mail, ctx({ nowMs: now })).allowed).toBe(true);
  });

  it('refuses a window without a label to follow', () => {
    expect(
      policyProblem({
        rules: [{ id: 'x', tool: '*', effect: 'deny', when: { afterWithinSeconds: 60 } }],
        tools: {},
      }),
    ).toMatch(/afterWithinSeconds needs after/);
  });
});

describe('target conditions (resource attributes, ADR 0042)', () => {
  const projects: ServerPolicy = {
    rules: [
      {
        id: 'own-projects',
        tool: 'deploy',
        effect: 'allow',
        when: { target: { arg: 'project', owner: 'principal-owner' } },
      },
      { id: 'frozen', tool: '*', effect: 'deny', when: { target: { tags: ['frozen'] } } },
    ],
    tools: {},
  };
  const principal = { 'identity-id': ['i-a'], 'identity-name': ['/agents/a'], owner: ['alice@example.com'] };
  const targets = (project: { owner: string; tags?: string[] } | null, server: string[] = []) =>
    new Map([
      ['', { owner: 'ops@example.com', tags: server }],
      ['=proj-a', project ? { owner: project.owner, tags: project.tags ?? [] } : null],
    ]);

  it('looks up the server and the identity the argument names, nothing else', () => {
    expect(targetsNeeded(projects, 'deploy', { project: 'proj-a' }).sort()).toEqual(['', '=proj-a']);
    expect(targetsNeeded(projects, 'deploy', { project: 7 })).toEqual(['']);
  });

  it("allows a project the caller's owner owns, denies another's, and an unknown one", () => {
    const call = (t: ReturnType<typeof targets>) =>
      decideToolCall(projects, 'deploy', { project: 'proj-a' }, ctx({ principal, targets: t }));
    expect(call(targets({ owner: 'alice@example.com' }))).toMatchObject({
      allowed: true,
      rule: 'own-projects',
    });
    expect(call(targets({ owner: 'bob@example.com' }))).toMatchObject({
      allowed: false,
      rule: 'own-projects',
      condition: 'target args.project owner principal-owner',
    });
    expect(call(targets(null))).toMatchObject({ allowed: false, condition: 'target args.project unknown' });
  });

  it('a deny on the server tags applies, and applies when the server is unknown (fail closed)', () => {
    const args = { project: 'proj-a' };
    const frozen = ctx({ principal, targets: targets({ owner: 'alice@example.com' }, ['frozen']) });
    expect(decideToolCall(projects, 'deploy', args, frozen)).toMatchObject({
      allowed: false,
      rule: 'frozen',
    });
    const unknown = ctx({
      principal,
      targets: new Map([['=proj-a', { owner: 'alice@example.com', tags: [] }]]),
    });
    expect(decideToolCall(projects, 'deploy', args, unknown)).toMatchObject({
      allowed: false,
      rule: 'frozen',
    });
  });

  it('refuses a target condition that says nothing or names an unknown owner kind', () => {
    const bad = (target: object) =>
      policyProblem({
        rules: [{ id: 'x', tool: '*', effect: 'allow', when: { target } as never }],
        tools: {},
      });
    expect(bad({ arg: 'project' })).toMatch(/target needs owner or tags/);
    expect(bad({ owner: 'someone' })).toMatch(/target.owner must be one of/);
    expect(bad({ owner: 'principal' })).toBeNull();
  });
});

describe('stateNeeded: what the gateway reads and records in the store (ADR 0042)', () => {
  const p: ServerPolicy = {
    rules: [
      { id: 'seq', tool: 'label:external-send', effect: 'deny', when: { after: ['sensitive-read'] } },
      { id: 'r1', tool: 'transfer', effect: 'allow', when: { rate: { max: 2, windowSeconds: 60 } } },
      { id: 'r2', tool: 'trans*', effect: 'allow', when: { rate: { max: 5, windowSeconds: 10 } } },
      { id: 'any', tool: '*', effect: 'allow' },
    ],
    tools: {
      read_report: { labels: ['sensitive-read', 'audit-me'] },
      send_email: { labels: ['external-send'] },
    },
  };

  it('reads history only under a sequence rule and calls only under a rate rule (widest window, largest cap)', () => {
    const none = new Map<number, number>();
    expect(stateNeeded(p, 'send_email')).toEqual({ history: true, rate: null, windows: none, labels: [] });
    expect(stateNeeded(p, 'transfer')).toEqual({
      history: false,
      rate: { windowSeconds: 60, max: 5 },
      // What the store counts (ADR 0045): each window up to its own largest cap.
      windows: new Map([
        [60, 2],
        [10, 5],
      ]),
      labels: [],
    });
    expect(stateNeeded(p, 'echo')).toEqual({ history: false, rate: null, windows: none, labels: [] });
  });

  it('records only the labels some sequence rule follows', () => {
    expect(stateNeeded(p, 'read_report').labels).toEqual(['sensitive-read']);
  });
});

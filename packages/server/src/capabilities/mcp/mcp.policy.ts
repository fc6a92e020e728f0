/**
 * The gateway's per-tool-call decision (issue 15, ADR 0018): a pure function of the server's tool
 * rules, the call (tool, its labels, its arguments) and the context (caller, delegation chain,
 * time, the session's history and the caller's recent calls). Default deny; a matching `deny`
 * beats every `allow`; every decision names the rule and the condition that decided it.
 * No I/O, no clock: the caller passes `nowMs`, the history and the targets' attributes.
 */
import type { PrincipalClaims } from '../../core/access/access.claims.js';
import {
  normaliseTarget,
  type TargetAttributes,
  type TargetCondition,
  targetFails,
} from '../../core/access/access.conditions.js';

export const ARG_OPERATORS = [
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  'not-in',
  'glob',
  'under',
  'present',
] as const;
export type ArgOperator = (typeof ARG_OPERATORS)[number];

/** A condition on one argument (`path` is a dotted path into the arguments: `to`, `payment.amount`). */
export interface ArgCondition {
  arg: string;
  op: ArgOperator;
  /** A number or string for comparisons, a list for `in`/`not-in`, a pattern for `glob`/`under`. */
  value?: string | number | boolean | readonly (string | number)[];
}

export interface RuleWhen {
  /** Every argument condition must hold. */
  args?: readonly ArgCondition[];
  /** The delegation chain (`act`) is at most this many hops (0: no delegation at all). */
  maxHops?: number;
  /** The caller must act for someone (a token with an `act` chain). */
  delegated?: boolean;
  /** The caller's identity name matches one of these globs. */
  callers?: readonly string[];
  /** One of these labels was called before in this session (a sequence rule). */
  after?: readonly string[];
  /** With `after`: only if that label was called within this many seconds ("a minute ago"). */
  afterWithinSeconds?: number;
  /** At most `max` calls of this tool by this caller in `windowSeconds`. */
  rate?: { max: number; windowSeconds: number };
  /** A UTC hour window `[fromHour, toHour)`. */
  hours?: { fromHour: number; toHour: number };
  /**
   * Attributes of the target (ADR 0042): the upstream server's identity, or with `arg` the
   * inventory identity that argument names ("an agent may act on projects its human owns").
   */
  target?: McpTargetCondition;
}

export interface McpTargetCondition extends TargetCondition {
  /** The argument naming an inventory identity; absent: the upstream server itself. */
  arg?: string;
}

export interface ToolRule {
  id: string;
  /** A tool name glob (`send_*`, `*`) or `label:NAME` for every tool with that label. */
  tool: string;
  effect: 'allow' | 'deny';
  when?: RuleWhen;
}

/** What an admin sets on a tool (not the upstream: its annotations are untrusted). */
export interface ToolSettings {
  labels?: readonly string[];
  /** Needs a human's approval for each call (bound to the exact arguments). */
  highImpact?: boolean;
  /** The arguments may be written to the audit (never by default: only their hash). */
  logArguments?: boolean;
}

export interface ServerPolicy {
  rules: readonly ToolRule[];
  tools: Readonly<Record<string, ToolSettings>>;
}

export interface CallContext {
  nowMs: number;
  callerName: string;
  /** Depth of the `act` chain (0 when the caller acts for itself). */
  hops: number;
  /** Labels called before in this session. */
  history: ReadonlySet<string> | ReadonlyMap<string, number>;
  /** Times (ms) of this caller's earlier calls of this tool, any order. */
  recentCalls: readonly number[];
  /**
   * Or, counted by the store (ADR 0045): how many earlier calls fall in each rate window (keyed
   * by `windowSeconds`, counted up to that window's largest cap). Used instead of `recentCalls`
   * for a window it has.
   */
  callCounts?: ReadonlyMap<number, number>;
  /** The caller as target conditions see it (identity id, name and owner). */
  principal?: PrincipalClaims;
  /** Targets' attributes by {@link targetKey} (null: no such object); loaded by the service. */
  targets?: ReadonlyMap<string, TargetAttributes | null>;
}

/**
 * Where a target condition's object is found: `''` for the upstream server, `=NAME` for the
 * identity an argument names, null when the argument is missing or not a name.
 */
export function targetKey(cond: McpTargetCondition, args: Record<string, unknown>): string | null {
  if (cond.arg === undefined) return '';
  const v = argAt(args, cond.arg);
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? `=${v}` : null;
}

/** The targets the rules on this tool need looked up for these arguments (keys of {@link targetKey}). */
export function targetsNeeded(policy: ServerPolicy, tool: string, args: Record<string, unknown>): string[] {
  const labels = policy.tools[tool]?.labels ?? [];
  const keys = new Set<string>();
  for (const rule of policy.rules) {
    if (!rule.when?.target || !ruleMatchesTool(rule, tool, labels)) continue;
    const key = targetKey(rule.when.target, args);
    if (key !== null) keys.add(key);
  }
  return [...keys];
}

/**
 * What gateway state a call of `tool` needs (ADR 0042): the session's labels when a rule on it is a
 * sequence rule, the caller's recent calls when one has a rate (the widest window, enough of them
 * to reach the largest cap), and which of its labels a sequence rule anywhere looks for (only those
 * are worth recording).
 */
export function stateNeeded(
  policy: ServerPolicy,
  tool: string,
): {
  history: boolean;
  rate: { windowSeconds: number; max: number } | null;
  /** Each rate window of the tool's rules and its largest cap (what the store counts, ADR 0045). */
  windows: Map<number, number>;
  labels: string[];
} {
  const labels = policy.tools[tool]?.labels ?? [];
  let history = false;
  let rated = false;
  let windowSeconds = 0;
  let max = 0;
  const followed = new Set<string>();
  const windows = new Map<number, number>();
  for (const rule of policy.rules) {
    for (const l of rule.when?.after ?? []) followed.add(l);
    if (!ruleMatchesTool(rule, tool, labels)) continue;
    if (rule.when?.after) history = true;
    const r = rule.when?.rate;
    if (r) {
      rated = true;
      windowSeconds = Math.max(windowSeconds, r.windowSeconds);
      max = Math.max(max, r.max);
      windows.set(r.windowSeconds, Math.max(windows.get(r.windowSeconds) ?? 0, r.max));
    }
  }
  const rate = rated ? { windowSeconds, max } : null;
  return { history, rate, windows, labels: labels.filter((l) => followed.has(l)) };
}

const UNKNOWN_TARGET = 'unknown';

function targetFailure(cond: McpTargetCondition, args: Record<string, unknown>, ctx: CallContext) {
  const what = cond.arg === undefined ? 'server' : `args.${cond.arg}`;
  const key = targetKey(cond, args);
  const target = key === null ? null : (ctx.targets?.get(key) ?? null);
  if (!target || !ctx.principal) return `target ${what} ${UNKNOWN_TARGET}`;
  const failed = targetFails(cond, target, ctx.principal);
  if (failed === 'target-owner') return `target ${what} owner ${cond.owner}`;
  if (failed === 'target-tags') return `target ${what} tags ${cond.tags!.join(',')}`;
  return null;
}

export interface ToolDecision {
  allowed: boolean;
  /** The rule that decided (null: nothing matched, default deny). */
  rule: string | null;
  /** The condition that failed for the closest allow rule, or that made a deny rule apply. */
  condition: string | null;
  reason: 'allowed' | 'denied-by-rule' | 'no-matching-rule' | 'condition-failed';
}

const globCache = new Map<string, RegExp>();
/** `*` is any run of characters except `/`; `**` any run including `/`; `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    let body = '';
    for (let i = 0; i < glob.length; i++) {
      const ch = glob[i]!;
      if (ch === '*' && glob[i + 1] === '*') {
        body += '.*';
        i++;
      } else if (ch === '*') body += '[^/]*';
      else if (ch === '?') body += '.';
      else body += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    }
    re = new RegExp(`^${body}$`, 's');
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(glob, re);
  }
  return re;
}

/** The value at a dotted path, or undefined (own properties only: no prototype walking). */
export function argAt(args: Record<string, unknown>, path: string): unknown {
  let value: unknown = args;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A path with `.` and `..` segments resolved; null when it climbs above the root or is not absolute. */
function normalisePath(path: string): string | null {
  if (!path.startsWith('/') || path.includes('\0')) return null;
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return `/${out.join('/')}`;
}

function argHolds(c: ArgCondition, args: Record<string, unknown>): boolean {
  const v = argAt(args, c.arg);
  if (c.op === 'present') return v !== undefined && v !== null;
  if (v === undefined || v === null || typeof v === 'object') return false;
  const want = c.value;
  switch (c.op) {
    case '==':
      return v === want;
    case '!=':
      return v !== want;
    case '<':
    case '<=':
    case '>':
    case '>=': {
      if (typeof v !== 'number' || typeof want !== 'number' || !Number.isFinite(v)) return false;
      return c.op === '<' ? v < want : c.op === '<=' ? v <= want : c.op === '>' ? v > want : v >= want;
    }
    case 'in':
    case 'not-in': {
      const list = Array.isArray(want) ? (want as readonly unknown[]) : [want];
      const member = list.includes(v);
      return c.op === 'in' ? member : !member;
    }
    case 'glob':
      return typeof v === 'string' && typeof want === 'string' && globToRegExp(want).test(v);
    case 'under': {
      // Paths are normalised first: `/srv/reports/../../etc/passwd` is not under `/srv/reports`.
      if (typeof v !== 'string' || typeof want !== 'string') return false;
      const path = normalisePath(v);
      const root = normalisePath(want.replace(/\/\*\*$/, ''));
      return (
        path !== null && root !== null && (path === root || path.startsWith(root === '/' ? '/' : `${root}/`))
      );
    }
  }
  return false;
}

/** The first condition of `when` that does not hold, or null when all hold. */
export function failedCondition(
  when: RuleWhen | undefined,
  args: Record<string, unknown>,
  ctx: CallContext,
): string | null {
  if (!when) return null;
  if (when.callers && !when.callers.some((g) => globToRegExp(g).test(ctx.callerName))) return 'callers';
  if (when.delegated && ctx.hops === 0) return 'delegated';
  if (when.maxHops !== undefined && ctx.hops > when.maxHops) return `maxHops ${when.maxHops}`;
  if (when.hours) {
    const h = new Date(ctx.nowMs).getUTCHours();
    const { fromHour, toHour } = when.hours;
    if (!(fromHour < toHour ? h >= fromHour && h < toHour : h >= fromHour || h < toHour)) return 'hours';
  }
  if (when.after) {
    const within = when.afterWithinSeconds;
    const since = within === undefined ? null : ctx.nowMs - within * 1000;
    const h = ctx.history;
    // A Map holds the last time each label was called; a plain set (no times) is "at some point".
    const recent = (l: string) =>
      since === null || (h instanceof Map ? (h.get(l) ?? Number.NEGATIVE_INFINITY) >= since : false);
    if (!when.after.some((l) => h.has(l) && recent(l)))
      return `after ${when.after.join(',')}${within === undefined ? '' : ` within ${within}s`}`;
  }
  if (when.args)
    for (const c of when.args)
      if (!argHolds(c, args))
        return `args.${c.arg} ${c.op}${c.value !== undefined ? ` ${JSON.stringify(c.value)}` : ''}`;
  if (when.target) {
    const failed = targetFailure(when.target, args, ctx);
    if (failed) return failed;
  }
  if (when.rate) {
    const since = ctx.nowMs - when.rate.windowSeconds * 1000;
    let n = ctx.callCounts?.get(when.rate.windowSeconds) ?? -1;
    if (n < 0) {
      n = 0;
      for (const t of ctx.recentCalls) if (t > since) n++;
    }
    if (n >= when.rate.max) return `rate ${when.rate.max}/${when.rate.windowSeconds}s`;
  }
  return null;
}

function ruleMatchesTool(rule: ToolRule, tool: string, labels: readonly string[]): boolean {
  if (rule.tool.startsWith('label:')) return labels.includes(rule.tool.slice(6));
  return globToRegExp(rule.tool).test(tool);
}

/** Decides one tool call. */
export function decideToolCall(
  policy: ServerPolicy,
  tool: string,
  args: Record<string, unknown>,
  ctx: CallContext,
): ToolDecision {
  const labels = policy.tools[tool]?.labels ?? [];
  let closest: { rule: string; condition: string } | null = null;
  let grant: string | null = null;
  for (const rule of policy.rules) {
    if (!ruleMatchesTool(rule, tool, labels)) continue;
    const failed = failedCondition(rule.when, args, ctx);
    if (rule.effect === 'deny') {
      // An unknown target fails closed: the deny applies (as in the roles model).
      if (failed === null || failed.endsWith(` ${UNKNOWN_TARGET}`))
        return {
          allowed: false,
          rule: rule.id,
          condition: describeWhen(rule.when),
          reason: 'denied-by-rule',
        };
      continue;
    }
    if (failed === null) grant ??= rule.id;
    else closest ??= { rule: rule.id, condition: failed };
  }
  if (grant) return { allowed: true, rule: grant, condition: null, reason: 'allowed' };
  if (closest) return { allowed: false, ...closest, reason: 'condition-failed' };
  return { allowed: false, rule: null, condition: null, reason: 'no-matching-rule' };
}

/**
 * Whether the tool can be called at all by this caller, whatever the arguments and history (what
 * `tools/list` shows): an allow rule whose caller and delegation conditions hold, and no
 * unconditional deny.
 */
export function toolVisible(policy: ServerPolicy, tool: string, ctx: CallContext): boolean {
  const labels = policy.tools[tool]?.labels ?? [];
  let visible = false;
  for (const rule of policy.rules) {
    if (!ruleMatchesTool(rule, tool, labels)) continue;
    const static_ = {
      callers: rule.when?.callers,
      delegated: rule.when?.delegated,
      maxHops: rule.when?.maxHops,
    };
    const holds = failedCondition(static_, {}, ctx) === null;
    if (
      rule.effect === 'deny' &&
      holds &&
      !rule.when?.args &&
      !rule.when?.after &&
      !rule.when?.rate &&
      !rule.when?.hours &&
      !rule.when?.target
    )
      return false;
    if (rule.effect === 'allow' && holds) visible = true;
  }
  return visible;
}

/** What made a deny rule apply, readably (`after sensitive-read`, `args.amount > 1000`). */
export function describeWhen(when: RuleWhen | undefined): string | null {
  if (!when) return null;
  const parts: string[] = [];
  if (when.after)
    parts.push(
      `after ${when.after.join(',')}${when.afterWithinSeconds === undefined ? '' : ` within ${when.afterWithinSeconds}s`}`,
    );
  for (const c of when.args ?? [])
    parts.push(`args.${c.arg} ${c.op}${c.value !== undefined ? ` ${JSON.stringify(c.value)}` : ''}`);
  if (when.target)
    parts.push(
      `target ${when.target.arg === undefined ? 'server' : `args.${when.target.arg}`}${when.target.owner ? ` owner ${when.target.owner}` : ''}${when.target.tags ? ` tags ${when.target.tags.join(',')}` : ''}`,
    );
  for (const key of ['callers', 'delegated', 'maxHops', 'rate', 'hours'] as const)
    if (when[key] !== undefined) parts.push(key);
  return parts.length ? parts.join(' and ') : null;
}

/** Checks a policy from the wire: returns an error message or null. */
export function policyProblem(policy: ServerPolicy): string | null {
  const ids = new Set<string>();
  for (const rule of policy.rules) {
    if (ids.has(rule.id)) return `Rule id "${rule.id}" is repeated.`;
    ids.add(rule.id);
    for (const c of rule.when?.args ?? []) {
      if (['<', '<=', '>', '>='].includes(c.op) && typeof c.value !== 'number')
        return `Rule ${rule.id}: ${c.arg} ${c.op} needs a number.`;
      if (['glob', 'under'].includes(c.op) && typeof c.value !== 'string')
        return `Rule ${rule.id}: ${c.arg} ${c.op} needs a string pattern.`;
      if (['in', 'not-in'].includes(c.op) && !Array.isArray(c.value))
        return `Rule ${rule.id}: ${c.arg} ${c.op} needs a list.`;
    }
    const target = rule.when?.target;
    if (target) {
      const checked = normaliseTarget(target);
      if ('error' in checked) return `Rule ${rule.id}: ${checked.error}`;
      if (!checked.target) return `Rule ${rule.id}: target needs owner or tags.`;
    }
    if (rule.when?.afterWithinSeconds !== undefined && !rule.when.after?.length)
      return `Rule ${rule.id}: afterWithinSeconds needs after.`;
    const h = rule.when?.hours;
    if (h && (h.fromHour < 0 || h.fromHour > 23 || h.toHour < 1 || h.toHour > 24 || h.fromHour === h.toHour))
      return `Rule ${rule.id}: hours must be 0–23 → 1–24 and differ.`;
  }
  return null;
}

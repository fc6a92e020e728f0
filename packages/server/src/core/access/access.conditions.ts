/**
 * Rule conditions and expiry: when a rule applies at all. Pure functions of the rule and the
 * request context (time, source address, the principal's claims).
 */
import { cidrContains, isValidCidr } from '../shared/cidr.js';
import {
  type ClaimFilter,
  claimsMatch,
  normaliseClaimFilter,
  type PrincipalClaims,
} from './access.claims.js';

/** Days of the week, in `Date.getUTCDay()` order. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * A UTC time window: on the given days (every day when absent), from `fromHour:00` up to (not
 * including) `toHour:00`. `fromHour > toHour` wraps past midnight (22 → 6); the day is the day of
 * the instant being checked.
 */
export interface TimeWindow {
  days?: readonly Weekday[];
  fromHour: number;
  toHour: number;
}

/**
 * Whose the target must be: `principal` (the target's owner names the principal itself, by identity
 * id or name: with a delegated token that is the subject acted for) or `principal-owner` (the
 * target's owner is the principal identity's owner: "projects its human owns").
 */
export const TARGET_OWNERS = ['principal', 'principal-owner'] as const;
export type TargetOwner = (typeof TARGET_OWNERS)[number];

/** A condition on the attributes of the object the request is about (issue 15, ADR 0042). */
export interface TargetCondition {
  owner?: TargetOwner;
  /** The target holds every one of these tags. */
  tags?: readonly string[];
}

/** The attributes of a request's target, as the service loaded them (never looked up here). */
export interface TargetAttributes {
  /** Null when the object has no owner. */
  owner: string | null;
  tags: readonly string[];
}

/** The first part of `cond` that `target` fails for a principal with `claims`, or null. */
export function targetFails(
  cond: TargetCondition,
  target: TargetAttributes,
  claims: PrincipalClaims,
): 'target-owner' | 'target-tags' | null {
  if (cond.owner) {
    const owner = target.owner;
    const names =
      cond.owner === 'principal'
        ? [...(claims['identity-id'] ?? []), ...(claims['identity-name'] ?? [])]
        : (claims.owner ?? []);
    if (owner === null || !names.includes(owner)) return 'target-owner';
  }
  if (cond.tags && !cond.tags.every((t) => target.tags.includes(t))) return 'target-tags';
  return null;
}

/** Optional conditions of a rule: all that are present must hold for the rule to apply. */
export interface RuleConditions {
  /** Attributes of the target (its owner and tags). */
  target?: TargetCondition;
  /** The principal's claims (same vocabulary and matching as association claim filters). */
  claims?: ClaimFilter;
  /** The request's source address lies in one of these. */
  cidrs?: readonly string[];
  timeWindow?: TimeWindow;
}

/** What a decision knows about the request beyond the principal's rules. */
export interface AccessContext {
  nowMs: number;
  /** Null when unknown (then CIDR conditions can be neither met nor refuted). */
  sourceIp: string | null;
  claims: PrincipalClaims;
  /**
   * The target's attributes, when some rule has a target condition and the object's kind can be
   * looked up; null when the object does not exist or its kind cannot be (target conditions then
   * fail closed, like CIDR conditions without a source address).
   */
  target?: TargetAttributes | null;
}

/** Why a rule that matches the resource did not apply. */
export type NotAppliedReason =
  | 'expired'
  | 'cidr'
  | 'time-window'
  | 'claims'
  | 'unknown-source'
  | 'target-owner'
  | 'target-tags'
  | 'unknown-target';

/** Reasons that fail closed: a grant does not apply, a deny does. */
export const failsClosed = (why: NotAppliedReason): boolean =>
  why === 'unknown-source' || why === 'unknown-target';

function inWindow(w: TimeWindow, nowMs: number): boolean {
  const at = new Date(nowMs);
  if (w.days && w.days.length > 0 && !w.days.includes(WEEKDAYS[at.getUTCDay()]!)) return false;
  const hour = at.getUTCHours();
  return w.fromHour < w.toHour
    ? hour >= w.fromHour && hour < w.toHour
    : hour >= w.fromHour || hour < w.toHour;
}

/**
 * Whether a rule with `expiresAtMs` and `conditions` applies: null when it does, else the first
 * reason it does not. `unknown-source` (a CIDR condition and no source address) is neither: a grant
 * then does not apply and a deny does (fail closed).
 */
export function notApplied(
  expiresAtMs: number | null | undefined,
  conditions: RuleConditions | null | undefined,
  context: AccessContext | undefined,
): NotAppliedReason | null {
  if (!context) return 'unknown-source';
  if (expiresAtMs !== undefined && expiresAtMs !== null && context.nowMs >= expiresAtMs) return 'expired';
  if (!conditions) return null;
  if (conditions.timeWindow && !inWindow(conditions.timeWindow, context.nowMs)) return 'time-window';
  if (conditions.claims && !claimsMatch(conditions.claims, context.claims)) return 'claims';
  if (conditions.cidrs && conditions.cidrs.length > 0) {
    if (context.sourceIp === null) return 'unknown-source';
    if (!conditions.cidrs.some((c) => cidrContains(c, context.sourceIp!))) return 'cidr';
  }
  if (conditions.target) {
    if (!context.target) return 'unknown-target';
    return targetFails(conditions.target, context.target, context.claims);
  }
  return null;
}

export const MAX_CONDITION_CIDRS = 100;
export const MAX_TARGET_TAGS = 20;

/** Checks a target condition from the wire; null when it says nothing. */
export function normaliseTarget(input: {
  owner?: string | null;
  tags?: readonly string[] | null;
}): { target: TargetCondition | null } | { error: string } {
  const out: { owner?: TargetOwner; tags?: readonly string[] } = {};
  if (input.owner !== undefined && input.owner !== null) {
    if (!(TARGET_OWNERS as readonly string[]).includes(input.owner))
      return { error: `target.owner must be one of ${TARGET_OWNERS.join(', ')}.` };
    out.owner = input.owner as TargetOwner;
  }
  if (input.tags && input.tags.length > 0) {
    if (input.tags.length > MAX_TARGET_TAGS) return { error: `At most ${MAX_TARGET_TAGS} target tags.` };
    if (input.tags.some((t) => typeof t !== 'string' || t.length === 0 || t.length > 100))
      return { error: 'target.tags must be 1 to 100 characters each.' };
    out.tags = [...new Set(input.tags)].sort();
  }
  return { target: Object.keys(out).length > 0 ? out : null };
}

/**
 * Checks and normalises conditions from the wire (or the Akeyless layer). Empty parts are dropped;
 * returns null when nothing is left, or an error message.
 */
export function normaliseConditions(
  input:
    | {
        claims?: Readonly<Record<string, string | readonly string[]>> | null;
        cidrs?: readonly string[] | null;
        timeWindow?: { days?: readonly string[] | null; fromHour: number; toHour: number } | null;
        target?: { owner?: string | null; tags?: readonly string[] | null } | null;
      }
    | null
    | undefined,
): { conditions: RuleConditions | null } | { error: string } {
  if (!input) return { conditions: null };
  const out: { claims?: ClaimFilter; cidrs?: string[]; timeWindow?: TimeWindow; target?: TargetCondition } =
    {};
  if (input.target) {
    const target = normaliseTarget(input.target);
    if ('error' in target) return target;
    if (target.target) out.target = target.target;
  }
  if (input.claims) {
    const claims = normaliseClaimFilter(input.claims);
    if ('error' in claims) return claims;
    if (Object.keys(claims.filter).length > 0) out.claims = claims.filter;
  }
  if (input.cidrs && input.cidrs.length > 0) {
    if (input.cidrs.length > MAX_CONDITION_CIDRS) return { error: `At most ${MAX_CONDITION_CIDRS} CIDRs.` };
    const bad = input.cidrs.find((c) => !isValidCidr(c));
    if (bad !== undefined) return { error: `Invalid CIDR "${bad.slice(0, 64)}".` };
    out.cidrs = [...new Set(input.cidrs)];
  }
  if (input.timeWindow) {
    const { fromHour, toHour } = input.timeWindow;
    const days = [...new Set(input.timeWindow.days ?? [])];
    if (!Number.isInteger(fromHour) || fromHour < 0 || fromHour > 23)
      return { error: 'timeWindow.fromHour must be an integer from 0 to 23.' };
    if (!Number.isInteger(toHour) || toHour < 1 || toHour > 24)
      return { error: 'timeWindow.toHour must be an integer from 1 to 24.' };
    if (fromHour === toHour) return { error: 'timeWindow.fromHour and toHour must differ.' };
    const unknownDay = days.find((d) => !(WEEKDAYS as readonly string[]).includes(d));
    if (unknownDay !== undefined)
      return { error: `Unknown day "${unknownDay.slice(0, 10)}"; expected ${WEEKDAYS.join(', ')}.` };
    out.timeWindow = {
      ...(days.length > 0 ? { days: WEEKDAYS.filter((d) => days.includes(d)) as readonly Weekday[] } : {}),
      fromHour,
      toHour,
    };
  }
  return { conditions: Object.keys(out).length > 0 ? out : null };
}

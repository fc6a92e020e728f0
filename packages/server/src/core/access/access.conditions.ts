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

/** Optional conditions of a rule: all that are present must hold for the rule to apply. */
export interface RuleConditions {
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
}

/** Why a rule that matches the resource did not apply. */
export type NotAppliedReason = 'expired' | 'cidr' | 'time-window' | 'claims' | 'unknown-source';

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
  return null;
}

export const MAX_CONDITION_CIDRS = 100;

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
      }
    | null
    | undefined,
): { conditions: RuleConditions | null } | { error: string } {
  if (!input) return { conditions: null };
  const out: { claims?: ClaimFilter; cidrs?: string[]; timeWindow?: TimeWindow } = {};
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

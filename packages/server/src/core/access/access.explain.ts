/**
 * Explaining a decision: the decision itself, which associations the principal's claims matched,
 * and which rules matched the resource but did not apply (expired, or a condition failed). Pure and
 * unhurried: for `POST /v1/access/explain`, not the request path.
 */
import type { Principal, SessionClaims } from '../sessions/sessions.model.js';
import { claimsMatch } from './access.claims.js';
import { type AccessContext, failsClosed, type NotAppliedReason, notApplied } from './access.conditions.js';
import {
  type AccessDecision,
  type Action,
  decideAccess,
  type EffectiveRule,
  effectiveRules,
  type MethodPolicy,
  pathMatches,
  type Resource,
} from './access.policy.js';

/**
 * What a capability adds to the explanation of a call on its own kind of object (`call` on an
 * `mcp-tool` path: the MCP gateway's pinning, tool policy and approval stages). The roles model
 * decides first; this says what comes after it.
 */
export interface CallExplanation {
  allowed: boolean;
  /** The stage that decided: `catalogue`, `policy` or `approval`. */
  stage: string;
  rule: string | null;
  condition: string | null;
  reason: string;
  /** One line a person can read. */
  summary: string;
  /** The call needs a human's approval before it runs. */
  approval: boolean;
  argumentsHash: string;
}

/** Who is asking (the token's claims where known) and about what. */
export interface CallToExplain {
  principal: Principal;
  claims: SessionClaims | null;
  path: string;
  arguments: Record<string, unknown>;
  sourceIp: string | null;
}

export type CallExplainer = (call: CallToExplain) => Promise<CallExplanation>;

export interface Explanation {
  decision: AccessDecision;
  /** Every association of the principal's auth method, and whether its claim filter matched. */
  associations: Array<{ id: string; role: string; matched: boolean }>;
  /** Rules that match the resource but did not apply, and why (at most 50). */
  notApplied: Array<{ rule: EffectiveRule; why: NotAppliedReason }>;
}

export function explainAccess(
  policy: MethodPolicy,
  action: Action,
  resource: Resource,
  context: AccessContext,
): Explanation {
  const decision = decideAccess(policy, action, resource, context);
  const matches = (filter: MethodPolicy['associations'][number]['claims']) =>
    claimsMatch(filter, context.claims);
  const skipped: Explanation['notApplied'] = [];
  for (const rule of effectiveRules(policy, matches)) {
    if (skipped.length >= 50) break;
    if (rule.ruleType !== '*' && rule.ruleType !== resource.type) continue;
    if (!pathMatches(rule.path, resource.path)) continue;
    const why = notApplied(rule.expiresAtMs, rule.conditions, context);
    const deny = rule.capabilities.includes('deny');
    if (why !== null && !(deny && failsClosed(why))) skipped.push({ rule, why });
  }
  return {
    decision,
    associations: policy.associations.map((a) => ({ id: a.id, role: a.role, matched: matches(a.claims) })),
    notApplied: skipped,
  };
}

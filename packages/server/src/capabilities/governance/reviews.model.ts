/**
 * Access reviews (issue 16, ADR 0029): campaigns in which owners certify each of their identities'
 * permissions (keep, narrow, revoke), with reminders, a consequence for no answer by the due date
 * (notify or suspend), an audit trail and an exportable report. Types only.
 */

export type CampaignState = 'open' | 'closed';
export const CONSEQUENCES = ['notify', 'suspend'] as const;
export type Consequence = (typeof CONSEQUENCES)[number];
export const DECISIONS = ['keep', 'narrow', 'revoke'] as const;
/** An owner's decision, or `expired` when the due date passed without one. */
export type Decision = (typeof DECISIONS)[number] | 'expired';

/** Which identities a campaign covers (the inventory filters). */
export interface ReviewScope {
  owner?: string;
  environment?: string;
  kind?: string;
  tag?: string;
}

export interface Campaign {
  id: string;
  name: string;
  state: CampaignState;
  scope: ReviewScope;
  consequence: Consequence;
  dueAtMs: number;
  reminderIntervalSeconds: number;
  lastRemindedAtMs: number | null;
  createdAtMs: number;
  closedAtMs: number | null;
}

/** One permission under review, as granted when the campaign started, and whether it was used. */
export interface ReviewedPermission {
  role: string;
  ruleType: string;
  path: string;
  capabilities: string[];
  usedInWindow: boolean;
}

export interface ReviewItem {
  campaignId: string;
  identityId: string;
  identityName: string;
  owner: string;
  permissions: ReviewedPermission[];
  decision: Decision | null;
  /** The caller who decided (identity id), or `system` for an expiry. */
  decidedBy: string | null;
  decidedAtMs: number | null;
  comment: string | null;
  /** What the decision did: the narrowed role applied, associations removed, suspended, notified. */
  outcome: string | null;
}

export interface CampaignSummary {
  total: number;
  pending: number;
  keep: number;
  narrow: number;
  revoke: number;
  expired: number;
}

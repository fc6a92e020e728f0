/**
 * Approvals (issue 14, ADR 0016): a human decision before an NHI or a person does something
 * high-impact. The contract other capabilities build on (`/work/notes/approvals-api.md`): a request
 * names the requester, the exact action, a justification and its approvers; an approval yields a
 * single-use grant bound to exactly that action, consumed atomically (`consume`). Pure: no I/O.
 */

export type Requester = { kind: 'identity' | 'person'; id: string; name: string };

export type ApprovalAction =
  | { kind: 'jit.elevate'; identityId: string; roleName: string; durationSec: number }
  /** `argumentsHash`: SHA-256, base64url, of the canonical JSON of the call's arguments. */
  | { kind: 'mcp.tool_call'; server: string; tool: string; argumentsHash: string }
  | { kind: 'ciba.token'; clientId: string; scope: string; bindingMessage?: string }
  /** `version`: the exact version read; an approval-required item admits only a grant naming it. */
  | { kind: 'secret.read'; path: string; version?: number };

export type Approvers =
  /** The owner of the identity `ownerOf` decides (its `owner`: `person:…` or `group:NAME`). */
  | { kind: 'owner'; ownerOf: string }
  /** `required` distinct members of the group (N of M, the two-person rule); default 1. */
  | { kind: 'group'; group: string; required?: number }
  /** Extension: one named person decides (`person:<id>` or `person:<email>`), e.g. CIBA's `login_hint`. */
  | { kind: 'person'; person: string };

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'used';

export interface ApprovalDecision {
  /** Who decided: `person:<id>` or `identity:<id>` (an administrator's access key). */
  by: string;
  decision: 'approve' | 'deny';
  at: string;
  comment?: string;
}

export interface ApprovalRequest {
  id: string;
  requester: Requester;
  action: ApprovalAction;
  justification: string;
  approvers: Approvers;
  status: ApprovalStatus;
  createdAt: string;
  /** Until when the request waits for its decision. */
  expiresAt: string;
  decisions: ApprovalDecision[];
  /** Extension: until when an approved request's grant may be consumed (null until approved). */
  grantExpiresAt: string | null;
  /** Extension: when the grant was consumed (null until used). */
  usedAt: string | null;
  /** Extension: a break-glass request (approved by its own justification, alerted at once). */
  breakGlass: boolean;
}

export type ConsumeRefusal = 'pending' | 'denied' | 'expired' | 'used' | 'mismatch' | 'not_found';
export type ConsumeResult = { ok: true } | { ok: false; reason: ConsumeRefusal };

/** Who is deciding, as the door resolved the caller. */
export interface Decider {
  /** `person:<id>` or `identity:<id>`: what `decisions[].by` records and what N of M counts. */
  ref: string;
  /** Names an owner string can use for this decider: `person:<id>`, `person:<email>`. */
  names: readonly string[];
  /** IdP groups of a person; empty for an identity. */
  groups: readonly string[];
  /** An administrator (the bootstrap access key, or a person whose roles make them one). */
  admin: boolean;
  /**
   * Every requester this caller can be, when more than `ref`: a person is also the identity their
   * sessions run under (a JIT request names the calling identity), so neither can approve the other.
   */
  requesterRefs?: readonly string[];
}

declare module '../../core/shared/events.js' {
  interface DomainEvents {
    'approval.requested': { id: string };
    'approval.decided': { id: string; status: ApprovalStatus };
  }
}

/** Deterministic JSON: object keys sorted, so equal values have one spelling (and one hash). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Deep equality of two actions (a grant is bound to exactly one). */
export const sameAction = (a: ApprovalAction, b: ApprovalAction) => canonicalJson(a) === canonicalJson(b);

export const requesterRef = (r: Requester) => `${r.kind}:${r.id}`;

/** How many distinct approvals the request needs. */
export const requiredApprovals = (approvers: Approvers) =>
  approvers.kind === 'group' ? Math.max(1, approvers.required ?? 1) : 1;

/**
 * Whether `decider` may decide a request with these approvers. `owner` is the `owner` string of
 * the identity named by `ownerOf` (null when it does not exist). Administrators may always decide
 * (bootstrap and automation), but count as one person each like anyone else.
 */
export function mayDecide(decider: Decider, approvers: Approvers, owner: string | null): boolean {
  if (decider.admin) return true;
  if (approvers.kind === 'group') return decider.groups.includes(approvers.group);
  if (approvers.kind === 'person') return decider.names.includes(approvers.person);
  if (owner === null) return false;
  if (owner.startsWith('group:')) return decider.groups.includes(owner.slice('group:'.length));
  return decider.names.includes(owner);
}

/**
 * The status after one more decision: a deny closes it; enough distinct approvals approve it.
 * `decisions` includes the new one.
 */
export function statusAfter(approvers: Approvers, decisions: readonly ApprovalDecision[]): ApprovalStatus {
  if (decisions.some((d) => d.decision === 'deny')) return 'denied';
  const approvedBy = new Set(decisions.filter((d) => d.decision === 'approve').map((d) => d.by));
  return approvedBy.size >= requiredApprovals(approvers) ? 'approved' : 'pending';
}

/** The status as of `nowMs`: a pending request or an unused grant past its time has expired. */
export function effectiveStatus(
  status: ApprovalStatus,
  expiresAtMs: number,
  grantExpiresAtMs: number | null,
  nowMs: number,
): ApprovalStatus {
  if (status === 'pending' && nowMs >= expiresAtMs) return 'expired';
  if (status === 'approved' && grantExpiresAtMs !== null && nowMs >= grantExpiresAtMs) return 'expired';
  return status;
}

/** A short human line for the action (notifications, CLI). */
export function describeAction(action: ApprovalAction): string {
  switch (action.kind) {
    case 'jit.elevate':
      return `activate role ${action.roleName} for identity ${action.identityId} for ${action.durationSec} s`;
    case 'mcp.tool_call':
      return `call tool ${action.tool} on MCP server ${action.server} (arguments ${action.argumentsHash.slice(0, 12)}…)`;
    case 'ciba.token':
      return `issue a token to client ${action.clientId} for scope "${action.scope}"${action.bindingMessage ? ` (${action.bindingMessage})` : ''}`;
    case 'secret.read':
      return `read secret ${action.path}${action.version ? ` version ${action.version}` : ''}`;
  }
}

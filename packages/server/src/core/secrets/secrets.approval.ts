import type { AuditEvent } from '../audit/audit.model.js';
import type { Principal } from '../sessions/sessions.model.js';
import type { RequestContext } from '../shared/context.js';
import { ErrorCodes, TesseraError, validationError } from '../shared/errors.js';
import type { Repos } from '../shared/unit-of-work.js';
import type { SecretApprovalPolicy } from './secrets.model.js';

/** Who reads a value, as the door authenticated them; absent for a server-internal read. */
export interface SecretReader {
  principal: Principal;
}

/** The exact read an approval must name: the canonical item name and the version read. */
export interface GatedRead {
  secretId: string;
  name: string;
  version: number;
  policy: SecretApprovalPolicy;
}

export type GateOutcome =
  | { ok: true }
  /** Refused: `error` goes to the caller after `audit` commits (nothing was read). */
  | { ok: false; error: TesseraError; audit: AuditEvent[] };

/**
 * The port through which a read of an approval-required item consumes its single-use grant
 * (issue 14, ADR 0027). `admit` runs inside the read's own unit of work, so the grant is used only
 * if the value is answered, and a refusal's audit commits with nothing else.
 */
export interface SecretReadGate {
  admit(
    r: Repos,
    read: GatedRead,
    reader: SecretReader | undefined,
    ctx: RequestContext,
  ): Promise<GateOutcome>;
}

/** Refuses every gated read: the stand-in when no approvals capability is wired (fail closed). */
export const closedGate: SecretReadGate = {
  async admit(_r, read) {
    return {
      ok: false,
      error: approvalRequired(read, 'no_approvals_capability', null, null),
      audit: [],
    };
  },
};

/**
 * 403 `TESSERA_APPROVAL_REQUIRED`: the public message says how to ask; `details` carries the exact
 * action to request (`POST /v1/approvals`), the approvers the item's policy needs, and the latest
 * matching request's id and status when there is one.
 */
export function approvalRequired(
  read: GatedRead,
  reason: string,
  request: { id: string; status: string } | null,
  approvers: Record<string, unknown> | null,
): TesseraError {
  const action = { kind: 'secret.read', path: read.name, version: read.version };
  const body = JSON.stringify({ action, ...(approvers ? { approvers } : {}), justification: '…' });
  const message =
    request?.status === 'pending'
      ? `Reading ${read.name} is waiting for approval request ${request.id}; read again once it is approved.`
      : `Reading ${read.name} version ${read.version} needs an approved request: POST /v1/approvals with ${body}, then read again once it is approved (the grant is used once).`;
  return new TesseraError(ErrorCodes.APPROVAL_REQUIRED, message, {
    internalReason: reason,
    details: {
      reason,
      action,
      ...(approvers ? { approvers } : {}),
      ...(request ? { approvalId: request.id, approvalStatus: request.status } : {}),
    },
  });
}

/** Checks a policy given by a caller (create, set): a bounded group name and 1 to 10 approvers. */
export function checkApprovalPolicy(policy: SecretApprovalPolicy): SecretApprovalPolicy {
  const out: SecretApprovalPolicy = {};
  if (policy.group !== undefined) {
    if (typeof policy.group !== 'string' || policy.group.length < 1 || policy.group.length > 200)
      throw validationError('approval.group: 1 to 200 characters', { field: 'approval.group' });
    out.group = policy.group;
  }
  if (policy.required !== undefined) {
    if (!Number.isInteger(policy.required) || policy.required < 1 || policy.required > 10)
      throw validationError('approval.required: an integer from 1 to 10', { field: 'approval.required' });
    if (out.group === undefined)
      throw validationError('approval.required needs approval.group (an owner is one person)', {
        field: 'approval.required',
      });
    out.required = policy.required;
  }
  return out;
}

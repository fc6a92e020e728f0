import type { AuditEvent } from '../../core/audit/audit.model.js';
import {
  approvalRequired,
  type GatedRead,
  type GateOutcome,
  type SecretReadGate,
} from '../../core/secrets/secrets.approval.js';
import type { SecretApprovalPolicy } from '../../core/secrets/secrets.model.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';
import {
  type ApprovalAction,
  type Approvers,
  canonicalJson,
  effectiveStatus,
  type Requester,
} from './approvals.model.js';
import type { ApprovalRecord } from './approvals.repo.js';
import { consumeWithin } from './approvals.service.js';

export interface SecretGateDeps {
  clock: Clock;
  /** The person whose session uses this auth method (null: an NHI's), read in the read's unit. */
  personIdOf: (r: ReadRepos, authMethodId: string) => Promise<string | null>;
}

/** The approvers an item's policy asks of this requester (null: the policy cannot be met by them). */
function expectedApprovers(policy: SecretApprovalPolicy, requester: Pick<Requester, 'kind' | 'id'>) {
  if (policy.group) return { kind: 'group', group: policy.group, required: policy.required ?? 1 } as const;
  // Without a group, the reading identity's owner decides; a person has no owner to ask.
  return requester.kind === 'identity' ? ({ kind: 'owner', ownerOf: requester.id } as const) : null;
}

/** Whether a request's approvers are at least what the policy asks (a larger N of the same group is). */
function meetsPolicy(
  approvers: Approvers,
  policy: SecretApprovalPolicy,
  requester: Pick<Requester, 'kind' | 'id'>,
) {
  const expected = expectedApprovers(policy, requester);
  if (!expected) return false;
  if (expected.kind === 'owner') return approvers.kind === 'owner' && approvers.ownerOf === expected.ownerOf;
  return (
    approvers.kind === 'group' &&
    approvers.group === expected.group &&
    (approvers.required ?? 1) >= expected.required
  );
}

/**
 * The gate of approval-required secrets (issue 14, ADR 0027). Inside the read's unit of work it finds
 * the reader's own approved request for exactly this item and version, whose approvers meet the
 * item's policy, and consumes its grant (one conditional `UPDATE`: of two racing reads on any servers,
 * one wins). The reader does not name the request: a grant is bound to its requester, so an
 * Akeyless SDK read works unchanged once approved. Refusals name the exact action to request.
 */
export function createSecretReadGate(deps: SecretGateDeps): SecretReadGate {
  return {
    async admit(r, read, reader, ctx): Promise<GateOutcome> {
      const action: ApprovalAction = { kind: 'secret.read', path: read.name, version: read.version };
      if (!reader) return refuse(read, 'no_reader', null, null, null);
      const { principal } = reader;
      const personId = await deps.personIdOf(r, principal.authMethodId);
      const requester = personId
        ? { kind: 'person' as const, id: personId }
        : { kind: 'identity' as const, id: principal.identityId };
      const approvers = expectedApprovers(read.policy, requester);
      if (!approvers) return refuse(read, 'policy_needs_group', requester, null, null);
      const nowMs = deps.clock.nowMs();
      const requests = (await r.approvals.listForAction(requester, canonicalJson(action), 20)).filter((a) =>
        meetsPolicy(a.approvers, read.policy, requester),
      );
      const status = (a: ApprovalRecord) =>
        effectiveStatus(a.status, a.expiresAtMs, a.grantExpiresAtMs, nowMs);
      const usable = requests.find((a) => status(a) === 'approved');
      if (usable) {
        const used = await consumeWithin(r, usable.id, action, ctx, nowMs);
        if (used.ok) return { ok: true };
        // Lost a race for the same grant (`approval.use_refused` is audited by consumeWithin).
        return refuse(read, `grant_${used.reason}`, requester, usable, approvers);
      }
      const latest = requests[0] ?? null;
      return refuse(read, latest ? `request_${status(latest)}` : 'no_request', requester, latest, approvers);

      function refuse(
        read: GatedRead,
        reason: string,
        who: Pick<Requester, 'kind' | 'id'> | null,
        request: ApprovalRecord | null,
        expected: Record<string, unknown> | null,
      ): GateOutcome {
        const event: AuditEvent = {
          type: 'secret.read_refused',
          outcome: 'denied',
          actor: {},
          resource: read.name,
          reason,
          data: {
            secretId: read.secretId,
            version: read.version,
            requester: who ? `${who.kind}:${who.id}` : null,
            approvalId: request?.id ?? null,
          },
        };
        const shown = request ? { id: request.id, status: status(request) } : null;
        return { ok: false, error: approvalRequired(read, reason, shown, expected), audit: [event] };
      }
    },
  };
}

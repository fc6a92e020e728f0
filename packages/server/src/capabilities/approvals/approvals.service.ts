import { normaliseSecretName } from '../../core/secrets/secrets.names.js';
import { type RequestContext, systemContext } from '../../core/shared/context.js';
import { ErrorCodes, notFound, TesseraError, validationError } from '../../core/shared/errors.js';
import type { EventBus } from '../../core/shared/events.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import { sha256Base64Url } from '../../crypto/credentials.js';
import {
  type ApprovalAction,
  type ApprovalRequest,
  type ApprovalStatus,
  type Approvers,
  type ConsumeResult,
  canonicalJson,
  type Decider,
  effectiveStatus,
  mayDecide,
  type Requester,
  requesterRef,
  statusAfter,
} from './approvals.model.js';
import type { ApprovalRecord } from './approvals.repo.js';

export interface RequestInput {
  requester: Requester;
  action: ApprovalAction;
  justification: string;
  approvers: Approvers;
  /** How long the request waits for its decision; bounded by the configured maximum. */
  ttlSec?: number;
  /**
   * At most one pending request for this requester, action and approvers: while one is pending
   * (and unexpired), it is returned instead of a new one, atomically on every server of the store
   * (ADR 0051). For a caller that asks again on each retry of the same operation.
   */
  reusePending?: boolean;
}

/**
 * Who a grant must have been asked by and decided by, beyond its action (`consume`): a capability
 * that knows its caller and the approvers its policy wants passes them, so a requester cannot
 * choose friendlier approvers, and nobody uses another requester's grant.
 */
export interface ConsumeBinding {
  requester?: Pick<Requester, 'kind' | 'id'>;
  approvers?: (approvers: Approvers) => boolean;
}

/** The contract (approvals-api.md): what other capabilities call. */
export interface ApprovalsService {
  request(input: RequestInput, ctx?: RequestContext): Promise<ApprovalRequest>;
  get(id: string): Promise<ApprovalRequest | null>;
  /**
   * The request `requester` made for exactly `action` whose approvers `approvers` accepts, that a
   * retry should act on (status as of now): an approved, unused one, else a pending one, else a
   * denied one (the caller decides how long a denial holds), else the newest, or null. Read from the store, so every server finds the same request (a retry of a
   * call that waits for approval, on whichever server it lands). By status, not by time alone:
   * two requests made in the same millisecond must not hide an approved grant.
   */
  forRetry(
    requester: Pick<Requester, 'kind' | 'id'>,
    action: ApprovalAction,
    approvers?: (approvers: Approvers) => boolean,
  ): Promise<ApprovalRequest | null>;
  /** Single use, atomic across servers, only for an approved, unexpired request with exactly `action`. */
  consume(
    id: string,
    action: ApprovalAction,
    ctx?: RequestContext,
    binding?: ConsumeBinding,
  ): Promise<ConsumeResult>;
}

export interface ApprovalsAdmin extends ApprovalsService {
  /** Records `decider`'s decision; refuses self-approval, non-approvers and closed requests. */
  decide(
    id: string,
    decider: Decider,
    decision: 'approve' | 'deny',
    comment: string | undefined,
    ctx: RequestContext,
  ): Promise<ApprovalRequest>;
  /** What `viewer` may see: its own requests and those it may decide (everything for an admin). */
  list(
    viewer: Decider & { requesterRefs: readonly string[] },
    filter: { status?: ApprovalStatus; mine?: boolean; limit: number },
  ): Promise<ApprovalRequest[]>;
  /** Whether `viewer` may see request `id` (requested it, or may decide it). */
  visibleTo(
    request: ApprovalRequest,
    viewer: Decider & { requesterRefs: readonly string[] },
  ): Promise<boolean>;
  /** Marks requests and grants past their time as expired (a leader job). */
  expireDue(): Promise<number>;
}

export interface ApprovalsDeps {
  uow: UnitOfWork;
  clock: Clock;
  events: EventBus;
  newId: () => string;
  maxTtlSeconds: number;
  grantTtlSeconds: number;
  /** After commit: announce a new request (webhook). Never inside a transaction. */
  onRequested?: (request: ApprovalRequest) => void;
}

const toIso = (ms: number) => new Date(ms).toISOString();

function toWire(a: ApprovalRecord, nowMs: number): ApprovalRequest {
  return {
    id: a.id,
    requester: a.requester,
    action: a.action,
    justification: a.justification,
    approvers: a.approvers,
    status: effectiveStatus(a.status, a.expiresAtMs, a.grantExpiresAtMs, nowMs),
    createdAt: toIso(a.createdAtMs),
    expiresAt: toIso(a.expiresAtMs),
    decisions: a.decisions,
    grantExpiresAt: a.grantExpiresAtMs === null ? null : toIso(a.grantExpiresAtMs),
    usedAt: a.usedAtMs === null ? null : toIso(a.usedAtMs),
    breakGlass: a.breakGlass,
  };
}

const closed = (message: string, reason: string) =>
  new TesseraError(ErrorCodes.APPROVAL_CLOSED, message, { internalReason: reason, details: { reason } });

/** The owner string deciding an `owner` request (null when the identity is gone). */
async function ownerFor(r: ReadRepos, approvers: Approvers): Promise<string | null> {
  if (approvers.kind !== 'owner') return null;
  return (await r.identities.get(approvers.ownerOf))?.owner ?? null;
}

/**
 * The grant's single use inside the caller's unit of work (one conditional `UPDATE`), with
 * `approval.used` or `approval.use_refused` audited in it. Shared by `consume` and the gate of
 * approval-required secrets, whose read must commit with the use or not at all.
 */
export async function consumeWithin(
  r: Repos,
  id: string,
  action: ApprovalAction,
  ctx: RequestContext,
  nowMs: number,
  binding: ConsumeBinding = {},
): Promise<ConsumeResult> {
  // Requester and approvers never change once asked: checked before the single-use update.
  const before = binding.requester || binding.approvers ? await r.approvals.get(id) : null;
  if (before) {
    const wrongRequester =
      binding.requester &&
      (before.requester.kind !== binding.requester.kind || before.requester.id !== binding.requester.id);
    const wrongApprovers = binding.approvers && !binding.approvers(before.approvers);
    if (wrongRequester || wrongApprovers) {
      const reason = wrongRequester ? 'other_requester' : 'approvers_not_allowed';
      await r.audit.append(
        {
          type: 'approval.use_refused',
          outcome: 'denied',
          actor: {},
          resource: `/approvals/${id}`,
          reason,
          data: auditData(
            before,
            binding.requester ? { presentedBy: requesterRef(binding.requester as Requester) } : {},
          ),
        },
        ctx,
        nowMs,
      );
      return { ok: false, reason: 'mismatch' };
    }
  }
  const used = await r.approvals.consume(id, canonicalJson(action), nowMs);
  const record = await r.approvals.get(id);
  if (!record) return { ok: false, reason: 'not_found' };
  if (used) {
    await r.audit.append(
      {
        type: 'approval.used',
        outcome: 'success',
        actor: {},
        resource: `/approvals/${id}`,
        data: auditData(record, { approvedBy: record.decisions.map((d) => d.by) }),
      },
      ctx,
      nowMs,
    );
    return { ok: true };
  }
  const status = effectiveStatus(record.status, record.expiresAtMs, record.grantExpiresAtMs, nowMs);
  const reason =
    status === 'approved'
      ? 'mismatch'
      : status === 'pending'
        ? 'pending'
        : (status as 'denied' | 'expired' | 'used');
  await r.audit.append(
    {
      type: 'approval.use_refused',
      outcome: 'denied',
      actor: {},
      resource: `/approvals/${id}`,
      reason,
      data: auditData(record, reason === 'mismatch' ? { presented: action } : {}),
    },
    ctx,
    nowMs,
  );
  return { ok: false, reason };
}

/** What `reusePending` keeps unique among pending requests: requester, action and approvers. */
const pendingKey = (a: ApprovalRecord) =>
  sha256Base64Url(`${requesterRef(a.requester)}\u0000${a.actionJson}\u0000${canonicalJson(a.approvers)}`);

/** A secret read names the item canonically, so a grant matches however the requester spelt it. */
function canonicalAction(action: ApprovalAction): ApprovalAction {
  return action.kind === 'secret.read' ? { ...action, path: normaliseSecretName(action.path) } : action;
}

function checkInput(input: RequestInput): void {
  const j = input.justification?.trim() ?? '';
  if (j.length === 0 || j.length > 1000)
    throw validationError('justification: 1 to 1000 characters are required');
  if (canonicalJson(input.action).length > 4096) throw validationError('action: too large');
  if (input.approvers.kind === 'group') {
    const n = input.approvers.required ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 10) throw validationError('approvers.required: 1 to 10');
  }
  if (input.action.kind === 'jit.elevate' && !(input.action.durationSec > 0))
    throw validationError('action.durationSec must be positive');
}

/** The audit fields every approval event carries: both parties and the action. */
const auditData = (a: ApprovalRecord, extra: Record<string, unknown> = {}) => ({
  requester: requesterRef(a.requester),
  requesterName: a.requester.name,
  action: a.action,
  approvers: a.approvers,
  ...extra,
});

export function createApprovalsService(deps: ApprovalsDeps): ApprovalsAdmin {
  const { uow, clock, events } = deps;

  async function refuse(record: ApprovalRecord, decider: Decider, reason: string, ctx: RequestContext) {
    await uow.write((r) =>
      r.audit.append(
        {
          type: 'approval.decision_refused',
          outcome: 'denied',
          actor: {},
          resource: `/approvals/${record.id}`,
          reason,
          data: auditData(record, { approver: decider.ref }),
        },
        ctx,
        clock.nowMs(),
      ),
    );
  }

  async function markExpired(
    r: Repos,
    a: ApprovalRecord,
    nowMs: number,
    ctx: RequestContext,
  ): Promise<boolean> {
    if (!(await r.approvals.transition(a.id, a.status, 'expired'))) return false;
    await r.audit.append(
      {
        type: 'approval.expired',
        outcome: 'success',
        actor: {},
        resource: `/approvals/${a.id}`,
        data: auditData(a, { was: a.status, approvedBy: a.decisions.map((d) => d.by) }),
      },
      ctx,
      nowMs,
    );
    await events.publish(r, 'approval.decided', { id: a.id, status: 'expired' });
    return true;
  }

  async function visibleTo(request: ApprovalRequest, viewer: Decider & { requesterRefs: readonly string[] }) {
    if (viewer.admin || viewer.requesterRefs.includes(requesterRef(request.requester))) return true;
    const owner = await uow.read((r) => ownerFor(r, request.approvers));
    return mayDecide(viewer, request.approvers, owner);
  }

  return {
    async request(input, ctx = systemContext('approvals')) {
      checkInput(input);
      const nowMs = clock.nowMs();
      const ttl = Math.min(Math.max(1, Math.floor(input.ttlSec ?? deps.maxTtlSeconds)), deps.maxTtlSeconds);
      const action = canonicalAction(input.action);
      const record: ApprovalRecord = {
        id: deps.newId(),
        requester: input.requester,
        action,
        actionJson: canonicalJson(action),
        justification: input.justification.trim(),
        approvers: input.approvers,
        status: 'pending',
        createdAtMs: nowMs,
        expiresAtMs: nowMs + ttl * 1000,
        grantExpiresAtMs: null,
        usedAtMs: null,
        breakGlass: false,
        decisions: [],
      };
      const wire = toWire(record, nowMs);
      const key = input.reusePending ? pendingKey(record) : null;
      const existing = await uow.write(async (r) => {
        if (input.approvers.kind === 'owner' && !(await r.identities.get(input.approvers.ownerOf)))
          throw validationError('approvers.ownerOf: no such identity');
        if (key) {
          const holder = await r.approvals.insertUnlessPending(record, key, nowMs);
          if (holder) return r.approvals.get(holder);
        } else await r.approvals.insert(record);
        await r.audit.append(
          {
            type: 'approval.requested',
            outcome: 'success',
            actor: {},
            resource: `/approvals/${record.id}`,
            data: auditData(record, { justification: record.justification, expiresAt: wire.expiresAt }),
          },
          ctx,
          nowMs,
        );
        await events.publish(r, 'approval.requested', { id: record.id });
        if (deps.onRequested) r.afterCommit(() => deps.onRequested?.(wire));
        return null;
      });
      return existing ? toWire(existing, nowMs) : wire;
    },

    async get(id) {
      const record = await uow.read((r) => r.approvals.get(id));
      return record ? toWire(record, clock.nowMs()) : null;
    },

    async forRetry(requester, action, approvers) {
      const json = canonicalJson(canonicalAction(action));
      const records = await uow.read((r) => r.approvals.listForAction(requester, json, 20));
      const nowMs = clock.nowMs();
      const found = records.filter((a) => !approvers || approvers(a.approvers)).map((a) => toWire(a, nowMs));
      return (
        found.find((a) => a.status === 'approved') ??
        found.find((a) => a.status === 'pending') ??
        found.find((a) => a.status === 'denied') ??
        found[0] ??
        null
      );
    },

    consume: (id, action, ctx = systemContext('approvals'), binding = {}) =>
      uow.write((r) => consumeWithin(r, id, action, ctx, clock.nowMs(), binding)),

    async decide(id, decider, decision, comment, ctx) {
      const found = await uow.read(async (r) => {
        const record = await r.approvals.get(id);
        return record ? { record, owner: await ownerFor(r, record.approvers) } : null;
      });
      if (!found) throw notFound('Approval request');
      const { record, owner } = found;
      const nowMs = clock.nowMs();
      const status = effectiveStatus(record.status, record.expiresAtMs, record.grantExpiresAtMs, nowMs);
      if ([decider.ref, ...(decider.requesterRefs ?? [])].includes(requesterRef(record.requester))) {
        await refuse(record, decider, 'approval_self', ctx);
        throw new TesseraError(ErrorCodes.APPROVAL_SELF, 'You cannot decide your own request.', {
          internalReason: 'approval_self',
          details: { reason: 'approval_self' },
        });
      }
      if (!mayDecide(decider, record.approvers, owner)) {
        await refuse(record, decider, 'not_an_approver', ctx);
        throw new TesseraError(ErrorCodes.APPROVAL_NOT_APPROVER, 'You are not an approver of this request.', {
          internalReason: 'not_an_approver',
        });
      }
      if (status !== 'pending') {
        await refuse(record, decider, `request_${status}`, ctx);
        throw closed(`The request is ${status}; it can no longer be decided.`, `request_${status}`);
      }
      if (record.decisions.some((d) => d.by === decider.ref)) {
        await refuse(record, decider, 'already_decided', ctx);
        throw closed('You have already decided this request.', 'already_decided');
      }
      const updated = await uow.write(async (r) => {
        const current = await r.approvals.get(id);
        if (!current || current.status !== 'pending' || current.decisions.some((d) => d.by === decider.ref))
          throw closed('The request was decided meanwhile.', 'decided_meanwhile');
        const at = toIso(nowMs);
        const entry = { by: decider.ref, decision, at, ...(comment ? { comment } : {}) };
        await r.approvals.addDecision(id, { ...entry, atMs: nowMs });
        const next = statusAfter(current.approvers, [...current.decisions, entry]);
        const grantExpiresAtMs = next === 'approved' ? nowMs + deps.grantTtlSeconds * 1000 : undefined;
        if (next !== 'pending') await r.approvals.transition(id, 'pending', next, grantExpiresAtMs);
        await r.audit.append(
          {
            type: 'approval.decided',
            outcome: 'success',
            actor: {},
            resource: `/approvals/${id}`,
            data: auditData(current, {
              approver: decider.ref,
              decision,
              status: next,
              comment: comment ?? null,
            }),
          },
          ctx,
          nowMs,
        );
        if (next !== 'pending') await events.publish(r, 'approval.decided', { id, status: next });
        return r.approvals.get(id);
      });
      return toWire(updated as ApprovalRecord, nowMs);
    },

    async list(viewer, filter) {
      // Stored status: a pending request past its time is still stored as pending until the job runs.
      // An expired request may still be stored as pending or approved until the job has run.
      const stored = filter.status && filter.status !== 'expired' ? { status: filter.status } : {};
      const records = await uow.read((r) => r.approvals.list({ ...stored, limit: filter.limit * 4 }));
      const nowMs = clock.nowMs();
      const out: ApprovalRequest[] = [];
      for (const record of records) {
        const wire = toWire(record, nowMs);
        if (filter.status && wire.status !== filter.status) continue;
        const own = viewer.requesterRefs.includes(requesterRef(record.requester));
        const owner = await uow.read((r) => ownerFor(r, record.approvers));
        const decides = mayDecide({ ...viewer, admin: false }, record.approvers, owner);
        if (filter.mine ? !(own || decides) : !(viewer.admin || own || decides)) continue;
        out.push(wire);
        if (out.length >= filter.limit) break;
      }
      return out;
    },

    visibleTo,

    async expireDue() {
      const nowMs = clock.nowMs();
      const due = await uow.read((r) => r.approvals.listDue(nowMs, 500));
      let n = 0;
      for (const a of due) {
        if (await uow.write((r) => markExpired(r, a, nowMs, systemContext('approvals-expiry')))) n++;
      }
      return n;
    },
  };
}

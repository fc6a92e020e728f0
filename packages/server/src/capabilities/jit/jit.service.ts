import type { RolesService } from '../../core/roles/roles.service.js';
import type { Principal } from '../../core/sessions/sessions.model.js';
import type { RequestContext } from '../../core/shared/context.js';
import { ErrorCodes, forbidden, notFound, TesseraError, validationError } from '../../core/shared/errors.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import {
  type ApprovalAction,
  type ApprovalRequest,
  type Approvers,
  canonicalJson,
  type Requester,
} from '../approvals/approvals.model.js';
import type { ApprovalsAdmin } from '../approvals/approvals.service.js';
import type { Activation, Eligibility, JitApprovers } from './jit.repo.js';

export interface JitDeps {
  uow: UnitOfWork;
  clock: Clock;
  newId: (prefix: string) => string;
  roles: RolesService;
  approvals: ApprovalsAdmin;
  /** The longest break-glass activation. */
  breakGlassMaxSeconds: number;
}

const refused = (reason: string, message: string) =>
  new TesseraError(ErrorCodes.APPROVAL_CLOSED, message, { internalReason: reason, details: { reason } });

/** The approvals-capability approvers of an eligibility: what a request must name to activate it. */
export const approversOf = (e: Pick<Eligibility, 'identityId' | 'approvers'>): Approvers =>
  e.approvers.kind === 'owner'
    ? { kind: 'owner', ownerOf: e.identityId }
    : { kind: 'group', group: e.approvers.group, required: e.approvers.required };

/**
 * Just-in-time roles (issue 14, ADR 0016): a role is *eligible* for an identity; an approved
 * `jit.elevate` request activates it for its duration. The activation is a temporary role holding
 * copies of the eligible role's rules, each expiring at the end of the window, associated with the
 * caller's auth method for that identity only: every server's policy decision stops applying it at
 * that instant, with no job or message needed. A leader job then removes the temporary role.
 */
export function createJitService(deps: JitDeps) {
  const { uow, clock } = deps;

  async function grant(
    principal: Principal,
    input: { roleName: string; durationSec: number; approvalId: string | null; breakGlass: boolean },
    audit: { type: string; data: Record<string, unknown> },
    ctx: RequestContext,
  ): Promise<Activation> {
    const nowMs = clock.nowMs();
    const source = await deps.roles.get(input.roleName);
    const id = deps.newId('ja-');
    const grantRole = `jit-${id}`;
    const expiresAtMs = nowMs + input.durationSec * 1000;
    await deps.roles.create(
      { name: grantRole, description: `JIT ${input.roleName} until ${new Date(expiresAtMs).toISOString()}` },
      ctx,
    );
    for (const rule of source.rules) {
      const ruleExpiry = rule.expiresAtMs ? Math.min(rule.expiresAtMs, expiresAtMs) : expiresAtMs;
      await deps.roles.setRule(
        grantRole,
        {
          ruleType: rule.ruleType,
          path: rule.path,
          capabilities: rule.capabilities,
          expiresAtMs: ruleExpiry,
          conditions: (rule.conditions ?? null) as never,
        },
        ctx,
      );
    }
    await deps.roles.associate(
      grantRole,
      { id: principal.authMethodId },
      { 'identity-id': [principal.identityId] },
      ctx,
    );
    const activation: Activation = {
      id,
      identityId: principal.identityId,
      authMethodId: principal.authMethodId,
      roleName: input.roleName,
      grantRole,
      approvalId: input.approvalId,
      breakGlass: input.breakGlass,
      createdAtMs: nowMs,
      expiresAtMs,
      endedAtMs: null,
    };
    await uow.write(async (r) => {
      await r.jit.insertActivation(activation);
      await r.audit.append(
        {
          type: audit.type,
          outcome: 'success',
          actor: {},
          resource: `/jit/${id}`,
          data: {
            identityId: principal.identityId,
            roleName: input.roleName,
            durationSec: input.durationSec,
            expiresAt: new Date(expiresAtMs).toISOString(),
            ...audit.data,
          },
        },
        ctx,
        nowMs,
      );
    });
    return activation;
  }

  return {
    async addEligibility(
      input: {
        identityId: string;
        roleName: string;
        maxDurationSec: number;
        breakGlass: boolean;
        approvers: JitApprovers;
      },
      ctx: RequestContext,
    ): Promise<Eligibility> {
      if (input.approvers.kind === 'group') {
        const { group, required } = input.approvers;
        if (group.trim() === '') throw validationError('approvers.group: required');
        if (!Number.isInteger(required) || required < 1 || required > 10)
          throw validationError('approvers.required: 1 to 10');
      }
      await deps.roles.get(input.roleName); // 404 for an unknown role
      const e: Eligibility = { id: deps.newId('je-'), ...input, createdAtMs: clock.nowMs() };
      await uow.write(async (r) => {
        if (!(await r.identities.get(input.identityId))) throw notFound('The identity');
        await r.jit.insertEligibility(e);
        await r.audit.append(
          {
            type: 'jit.eligibility_added',
            outcome: 'success',
            actor: {},
            resource: `/jit/eligibilities/${e.id}`,
            data: { ...input },
          },
          ctx,
          e.createdAtMs,
        );
      });
      return e;
    },

    listEligibilities: (identityId: string | null) => uow.read((r) => r.jit.listEligibilities(identityId)),

    async removeEligibility(id: string, ctx: RequestContext) {
      await uow.write(async (r) => {
        if (!(await r.jit.deleteEligibility(id))) throw notFound('The eligibility');
        await r.audit.append(
          {
            type: 'jit.eligibility_removed',
            outcome: 'success',
            actor: {},
            resource: `/jit/eligibilities/${id}`,
          },
          ctx,
          clock.nowMs(),
        );
      });
    },

    /**
     * Asks for an activation of an eligible role, decided by the approvers the eligibility names
     * (the owner, or N distinct members of a group): the requester does not choose them.
     */
    async request(
      principal: Principal,
      input: { roleName: string; durationSec: number; justification: string; ttlSec?: number },
      ctx: RequestContext,
    ): Promise<ApprovalRequest> {
      const [eligible, identity] = await uow.read((r) =>
        Promise.all([
          r.jit.getEligibility(principal.identityId, input.roleName),
          r.identities.get(principal.identityId),
        ]),
      );
      if (!eligible) throw forbidden('jit_not_eligible');
      const requester: Requester = {
        kind: 'identity',
        id: principal.identityId,
        name: identity?.name ?? principal.identityId,
      };
      if (input.durationSec > eligible.maxDurationSec)
        throw validationError(`durationSec: at most ${eligible.maxDurationSec} for this role`);
      return deps.approvals.request(
        {
          requester,
          action: {
            kind: 'jit.elevate',
            identityId: requester.id,
            roleName: input.roleName,
            durationSec: input.durationSec,
          },
          justification: input.justification,
          approvers: approversOf(eligible),
          ...(input.ttlSec ? { ttlSec: input.ttlSec } : {}),
        },
        ctx,
      );
    },

    /** Activates an approved `jit.elevate` request for the caller (the identity it names). */
    async activate(principal: Principal, approvalId: string, ctx: RequestContext): Promise<Activation> {
      const approval = await deps.approvals.get(approvalId);
      if (!approval || approval.action.kind !== 'jit.elevate') throw notFound('Approval request');
      const action = approval.action;
      if (action.identityId !== principal.identityId) throw forbidden('jit_other_identity');
      const eligible = await uow.read((r) => r.jit.getEligibility(action.identityId, action.roleName));
      if (!eligible) throw forbidden('jit_not_eligible');
      if (action.durationSec > eligible.maxDurationSec)
        throw validationError(`durationSec: at most ${eligible.maxDurationSec} for this role`);
      // Decided by the approvers the eligibility names, not approvers the requester chose.
      const wanted = canonicalJson(approversOf(eligible));
      const used = await deps.approvals.consume(approvalId, action as ApprovalAction, ctx, {
        approvers: (a) =>
          canonicalJson(a.kind === 'group' ? { ...a, required: a.required ?? 1 } : a) === wanted,
      });
      if (!used.ok) throw refused(`grant_${used.reason}`, `The approval cannot be used: ${used.reason}.`);
      return grant(
        principal,
        { roleName: action.roleName, durationSec: action.durationSec, approvalId, breakGlass: false },
        {
          type: 'jit.activated',
          data: {
            approvalId,
            requester: `${approval.requester.kind}:${approval.requester.id}`,
            approvedBy: approval.decisions.filter((d) => d.decision === 'approve').map((d) => d.by),
          },
        },
        ctx,
      );
    },

    /** Emergency: no approval, a mandatory justification, a short maximum and an immediate alert. */
    async breakGlass(
      principal: Principal,
      input: { roleName: string; durationSec: number; justification: string },
      ctx: RequestContext,
    ): Promise<Activation> {
      const eligible = await uow.read((r) => r.jit.getEligibility(principal.identityId, input.roleName));
      if (!eligible?.breakGlass) throw forbidden('jit_break_glass_not_allowed');
      const max = Math.min(eligible.maxDurationSec, deps.breakGlassMaxSeconds);
      if (input.durationSec > max) throw validationError(`durationSec: at most ${max} for break-glass`);
      if (input.justification.trim().length < 10)
        throw validationError('justification: at least 10 characters');
      return grant(
        principal,
        { roleName: input.roleName, durationSec: input.durationSec, approvalId: null, breakGlass: true },
        { type: 'jit.break_glass', data: { justification: input.justification.trim() } },
        ctx,
      );
    },

    listActivations: (identityId: string | null, limit: number) =>
      uow.read((r) => r.jit.listActivations(identityId, limit)),

    /** Removes the temporary roles of ended activations (their rules had already stopped applying). */
    async cleanup(ctx: RequestContext): Promise<number> {
      const due = await uow.read((r) => r.jit.listDueActivations(clock.nowMs(), 200));
      for (const a of due) {
        await deps.roles.delete(a.grantRole, ctx).catch(() => {});
        await uow.write(async (r) => {
          if (!(await r.jit.markEnded(a.id, clock.nowMs()))) return;
          await r.audit.append(
            {
              type: 'jit.lapsed',
              outcome: 'success',
              actor: {},
              resource: `/jit/${a.id}`,
              data: { identityId: a.identityId, roleName: a.roleName, approvalId: a.approvalId },
            },
            ctx,
            clock.nowMs(),
          );
        });
      }
      return due.length;
    },
  };
}

export type JitService = ReturnType<typeof createJitService>;

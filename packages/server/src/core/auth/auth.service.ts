import type { AuditActor } from '../audit/audit.model.js';
import type { DenialRecorder } from '../audit/denials.js';
import type {
  AuthenticatedSubject,
  AuthFailureReason,
  AuthMethodRegistry,
  CredentialPresentation,
} from '../auth-methods/auth-method.registry.js';
import { refuseReason } from '../auth-methods/method-checks.js';
import type { Metrics } from '../monitoring/metrics.port.js';
import type { IssuedSession, SessionsService } from '../sessions/sessions.service.js';
import type { RequestContext } from '../shared/context.js';
import { authFailed, rateLimited } from '../shared/errors.js';
import { createIsoFormatter } from '../shared/iso-time.js';
import type { Clock } from '../shared/platform.port.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { LastUsedTracker } from './last-used.js';

export interface AuthServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  registry: AuthMethodRegistry;
  sessions: SessionsService;
  limiter: FailureLimiter;
  /** Refusals of a blocked source are audited through it, one event per window with a count. */
  denials: Pick<DenialRecorder, 'record'>;
  lastUsed: LastUsedTracker;
  metrics: Metrics;
}

export interface AuthResult extends IssuedSession {
  subject: AuthenticatedSubject;
}

type Step =
  | { ok: true; subject: AuthenticatedSubject; session: IssuedSession }
  | { ok: false; reason: AuthFailureReason };

/**
 * `POST /v1/auth`: exchange a credential for a session token. The pipeline: rate limit → resolve
 * the credential (method-specific) → shared method checks → issue → audit, with the audit event
 * committed (group-committed) before the answer.
 */
export function createAuthService({
  uow,
  clock,
  registry,
  sessions,
  limiter,
  denials,
  lastUsed,
  metrics,
}: AuthServiceDeps) {
  const isoExpiry = createIsoFormatter();
  return async function authenticate(
    presentation: CredentialPresentation,
    ctx: RequestContext,
  ): Promise<AuthResult> {
    if (limiter.isBlocked(ctx.sourceIp)) {
      // Collapsed per source and window: a blocked client cannot grow the ledger (issue 10).
      await denials.record(
        {
          type: 'auth.rate_limited',
          outcome: 'denied',
          actor: {},
          reason: 'too_many_failures',
          data: { accessType: presentation.accessType },
        },
        ctx,
      );
      metrics.authentication(presentation.accessType, 'rate_limited', 'too_many_failures');
      throw rateLimited(limiter.retryAfterSeconds(ctx.sourceIp));
    }
    const handler = registry.get(presentation.accessType);
    const prepared = handler?.prepare ? await handler.prepare(presentation, ctx) : undefined;
    const step = await uow.write<Step>(async (r) => {
      const now = clock.nowMs();
      const fail = async (
        reason: AuthFailureReason,
        actor: AuditActor,
        extra?: Record<string, unknown>,
      ): Promise<Step> => {
        await r.audit.append(
          {
            type: 'auth.failed',
            outcome: 'failure',
            actor,
            reason,
            data: { ...extra, accessType: presentation.accessType },
          },
          ctx,
          now,
        );
        return { ok: false, reason };
      };
      if (!handler) return fail('unknown_access_type', {});
      const result = await handler.authenticate(r, presentation, ctx, prepared);
      if (!result.ok) return fail(result.reason, result.actor, result.auditData);
      const { subject } = result;
      const refused = await refuseReason(r, subject.method, subject, ctx, now);
      const actor = {
        identityId: subject.identityId,
        authMethodId: subject.method.id,
        uidNodeId: subject.node?.id ?? null,
        credentialRef: subject.credentialRef,
      };
      if (refused) return fail(refused, actor, subject.auditData);
      const session = sessions.issue(subject);
      await r.audit.append(
        {
          type: 'auth.succeeded',
          outcome: 'success',
          actor: { ...actor, tokenId: session.claims.jti },
          data: {
            ...subject.auditData,
            accessType: presentation.accessType,
            expiresAt: isoExpiry(session.expiresAtMs),
          },
        },
        ctx,
        now,
      );
      return { ok: true, subject, session };
    });
    // Counted once committed, like the audit event; the reason is an internal code, never a value.
    metrics.authentication(
      presentation.accessType,
      step.ok ? 'success' : 'failure',
      step.ok ? null : step.reason,
    );
    if (!step.ok) {
      limiter.recordFailure(ctx.sourceIp);
      throw authFailed(step.reason);
    }
    lastUsed.touch(step.subject.identityId, clock.nowMs());
    return { ...step.session, subject: step.subject };
  };
}

export type AuthService = ReturnType<typeof createAuthService>;

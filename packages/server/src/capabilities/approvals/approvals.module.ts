import type { FastifyRequest } from 'fastify';
import type { SecretReadGate } from '../../core/secrets/secrets.approval.js';
import { unauthenticated } from '../../core/sessions/sessions.errors.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { type ApprovalCaller, type PersonOf, resolveCaller } from './approvals.caller.js';
import { createApprovalNotifier } from './approvals.notify.js';
import { approvalsMigrations, createApprovalsRepo } from './approvals.repo.js';
import { registerApprovalRoutes } from './approvals.routes.js';
import { createSecretReadGate, type SecretGateDeps } from './approvals.secret-gate.js';
import { type ApprovalsAdmin, createApprovalsService } from './approvals.service.js';

/**
 * Approvals (issue 14, ADR 0016): requests, decisions by the owner, a group or N of M, single-use
 * grants consumed atomically, the webhook, expiry, and `/v1/approvals`. Every capability that needs
 * a human decision (JIT elevation, the MCP gateway, CIBA, approval-required secrets) uses its
 * `approvals` service.
 */
export function createApprovalsModule(
  platform: Platform,
  deps: {
    personOf?: PersonOf;
    /** Inside a unit of work: the person signed in through this auth method (approval-required secrets). */
    personIdOf?: SecretGateDeps['personIdOf'];
  } = {},
): CapabilityModule<{ approvals: ApprovalsAdmin; secretReadGate: SecretReadGate }> {
  const { uow, clock, config, credentials, events, log } = platform;
  platform.storage.contribute({
    name: 'approvals',
    migrations: approvalsMigrations,
    repos: { approvals: createApprovalsRepo },
  });
  const issuer = config.issuer.replace(/\/+$/, '');
  const notifier = createApprovalNotifier({ url: config.humans.approvalWebhookUrl, issuer, log });
  const approvals = createApprovalsService({
    uow,
    clock,
    events,
    newId: () => credentials.newId('apr-'),
    maxTtlSeconds: config.humans.approvalTtlSeconds,
    grantTtlSeconds: config.humans.approvalGrantTtlSeconds,
    onRequested: (a) => notifier.requested(a),
  });
  const secretReadGate = createSecretReadGate({
    clock,
    personIdOf: deps.personIdOf ?? (async () => null),
  });

  const callerOf = async (request: FastifyRequest): Promise<ApprovalCaller> => {
    if (!request.principal) throw unauthenticated();
    return resolveCaller(uow, deps.personOf, request.principal);
  };

  return {
    name: 'approvals',
    services: { approvals, secretReadGate },
    routes: { native: (app: TypedApp) => registerApprovalRoutes(app, { approvals, callerOf }) },
    jobs: [
      { name: 'approvals-expiry', scope: 'leader', intervalMs: 5_000, run: () => approvals.expireDue() },
    ],
    close: () => notifier.idle(),
  };
}

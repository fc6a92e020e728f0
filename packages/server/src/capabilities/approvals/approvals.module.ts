import type { FastifyRequest } from 'fastify';
import type { SecretReadGate } from '../../core/secrets/secrets.approval.js';
import { unauthenticated } from '../../core/sessions/sessions.errors.js';
import type { Principal } from '../../core/sessions/sessions.model.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createApprovalNotifier } from './approvals.notify.js';
import { approvalsMigrations, createApprovalsRepo } from './approvals.repo.js';
import { type ApprovalCaller, registerApprovalRoutes } from './approvals.routes.js';
import { createSecretReadGate, type SecretGateDeps } from './approvals.secret-gate.js';
import { type ApprovalsAdmin, createApprovalsService } from './approvals.service.js';

/** A signed-in person, as the people capability resolves a session (null: not a person's session). */
export interface PersonCaller {
  id: string;
  name: string;
  email: string | null;
  groups: readonly string[];
  admin: boolean;
}

/**
 * Approvals (issue 14, ADR 0016): requests, decisions by the owner, a group or N of M, single-use
 * grants consumed atomically, the webhook, expiry, and `/v1/approvals`. Every capability that needs
 * a human decision (JIT elevation, the MCP gateway, CIBA, approval-required secrets) uses its
 * `approvals` service.
 */
export function createApprovalsModule(
  platform: Platform,
  deps: {
    personOf?: (principal: Principal) => Promise<PersonCaller | null>;
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

  /** The caller as a requester and a decider: a person's session, else the identity's. */
  async function callerOf(request: FastifyRequest): Promise<ApprovalCaller> {
    const principal = request.principal;
    if (!principal) throw unauthenticated();
    const person = deps.personOf ? await deps.personOf(principal) : null;
    if (person) {
      const ref = `person:${person.id}`;
      return {
        requester: { kind: 'person', id: person.id, name: person.email ?? person.name },
        decider: {
          ref,
          names: [ref, ...(person.email ? [`person:${person.email}`] : [])],
          groups: person.groups,
          admin: person.admin,
          // A JIT request from a person's session names the identity it runs under.
          requesterRefs: [ref, `identity:${principal.identityId}`],
        },
      };
    }
    const [identity, method] = await uow.read((r) =>
      Promise.all([r.identities.get(principal.identityId), r.authMethods.get(principal.authMethodId)]),
    );
    const ref = `identity:${principal.identityId}`;
    return {
      requester: { kind: 'identity', id: principal.identityId, name: identity?.name ?? principal.identityId },
      decider: { ref, names: [], groups: [], admin: method?.isAdmin === true, requesterRefs: [ref] },
    };
  }

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

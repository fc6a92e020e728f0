import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Action, Resource } from '../core/access/access.policy.js';
import type { AccessService } from '../core/access/access.service.js';
import { unauthenticated } from '../core/sessions/sessions.errors.js';
import type { Principal } from '../core/sessions/sessions.model.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import type { RequestContext } from '../core/shared/context.js';
import { ErrorCodes, forbidden, TesseraError } from '../core/shared/errors.js';

/** A holder-only route was called with something other than the `u-` token. */
export const uidTokenRequired = () =>
  new TesseraError(
    ErrorCodes.UNAUTHENTICATED,
    'This operation needs the UID token itself: send "Authorization: Bearer u-…".',
  );

/**
 * What a route needs, declared on every route (DESIGN §4.6):
 * - `public`: no credential.
 * - `permission`: a session token whose rules allow `action` on the resource.
 * - `holder`: only the holder of a `u-` token (rotation and its ack are nobody else's).
 * - `uid`: the holder of a `u-` token (checked by the UID service inside its transaction), or a
 *   session token from a UID node when `allowUidSession`, or a session allowed by `permission`.
 */
export type RouteAccess =
  | { public: true }
  | { permission: Permission }
  | { holder: true }
  | { uid: true; allowUidSession: boolean; permission: Permission };

export interface Permission {
  action: Action;
  resource: (request: FastifyRequest) => Resource;
}

/** How the caller of a UID route is acting. */
export type UidCaller =
  | { kind: 'holder'; token: string }
  | { kind: 'session'; principal: Principal }
  | { kind: 'admin'; principal: Principal };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    ctx: RequestContext;
    principal: Principal | null;
    uidCaller: UidCaller | null;
  }
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(header);
  return match ? match[1]! : '';
}

/**
 * Installs authentication and authorization. Refuses to start (throws while routes register) if a
 * route declares no access, so a route cannot be forgotten open.
 */
export function installAccessControl(
  app: FastifyInstance,
  deps: {
    sessions: SessionsService;
    access: AccessService;
    /** Audits a denied request (collapsing repeats). */
    onDenied: (request: FastifyRequest, action: string, resource: Resource, reason: string) => Promise<void>;
    /** Audits a granted read (the rule that allowed it). */
    onGranted: (
      request: FastifyRequest,
      action: string,
      resource: Resource,
      ruleId: string | null,
    ) => Promise<void>;
  },
) {
  const { sessions, access } = deps;
  app.decorateRequest('principal', null);
  app.decorateRequest('uidCaller', null);

  app.addHook('onRoute', (route: RouteOptions) => {
    const declared = (route.config as { access?: RouteAccess } | undefined)?.access;
    if (!declared && route.url !== '*' && !route.url.startsWith('/docs')) {
      throw new Error(`route ${route.method} ${route.url} declares no access; refusing to start`);
    }
  });

  async function sessionPrincipal(request: FastifyRequest, token: string): Promise<Principal> {
    const claims = await sessions.verify(token);
    const principal = sessions.toPrincipal(claims);
    request.principal = principal;
    request.ctx.actor = {
      identityId: principal.identityId,
      authMethodId: principal.authMethodId,
      uidNodeId: principal.uidNodeId,
      tokenId: principal.tokenId,
    };
    return principal;
  }

  async function permitted(request: FastifyRequest, principal: Principal, permission: Permission) {
    const resource = permission.resource(request);
    return access.authorize(principal, permission.action, resource);
  }

  // Authentication first (before the body is validated): a caller without a valid credential
  // learns nothing but 401. Authorization after validation, when the body's fields are typed.
  app.addHook('preValidation', async (request) => {
    const declared = request.routeOptions.config.access;
    if (!declared || 'public' in declared) return; // public routes, 404 handler, docs assets
    const token = bearer(request);
    if (token === null || token === '') throw unauthenticated();
    if ('holder' in declared && !token.startsWith('u-')) throw uidTokenRequired();
    if (('uid' in declared || 'holder' in declared) && token.startsWith('u-')) {
      // Verified by the UID service inside its transaction (it may change state).
      request.uidCaller = { kind: 'holder', token };
      return;
    }
    await sessionPrincipal(request, token);
  });

  app.addHook('preHandler', async (request) => {
    const declared = request.routeOptions.config.access;
    if (!declared || 'public' in declared || 'holder' in declared || request.uidCaller) return;
    const principal = request.principal;
    if (!principal) throw unauthenticated();
    const decision = await permitted(request, principal, declared.permission);
    if (decision.allowed) {
      if ('uid' in declared) request.uidCaller = { kind: 'admin', principal };
      // Reads change nothing, so no service records them: the decision itself is the event.
      // (Writes are recorded by the service, in the same transaction as the change.)
      if (request.method === 'GET' || request.method === 'HEAD') {
        await deps.onGranted(
          request,
          declared.permission.action,
          declared.permission.resource(request),
          decision.rule?.id ?? null,
        );
      }
      return;
    }
    if ('uid' in declared && declared.allowUidSession && principal.uidNodeId) {
      request.uidCaller = { kind: 'session', principal };
      return;
    }
    const resource = declared.permission.resource(request);
    await deps.onDenied(request, declared.permission.action, resource, decision.reason);
    throw forbidden(`${decision.reason} for ${declared.permission.action}`);
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessService } from '../../core/access/access.service.js';
import type { DenialRecorder } from '../../core/audit/denials.js';
import type { AuthService } from '../../core/auth/auth.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import { installAccessControl } from '../access.js';
import type { ErrorProtocol } from '../error-protocol.js';

/**
 * A front door (ADR 0013): one encapsulated Fastify context with its own body parsers, limits,
 * authentication and error rendering. `register` is called inside that context.
 */
export interface FrontDoor {
  readonly name: string;
  /** Where its routes live (`/akeyless`), or '' when its routes carry their full paths. */
  readonly prefix: string;
  register(scope: FastifyInstance): Promise<void> | void;
  /**
   * The form in which its routes refuse input (ADR 0044), published per operation in
   * `/openapi.json`; a route may declare its own (`config.errorProtocol`). Default: `tessera`.
   */
  readonly errorProtocol?: ErrorProtocol;
  /**
   * How the door renders a refusal the router makes before any route of the door runs (a malformed
   * or over-long URL): Fastify handles those at the root, so the root asks the door whose prefix
   * the URL has. Default: Tessera's error shape.
   */
  renderFrameworkError?: (error: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;
}

/** What every door's authentication and authorization stand on (the same check and audit for all). */
export interface DoorAccessDeps {
  sessions: SessionsService;
  access: AccessService;
  denials: DenialRecorder;
  /** `u-` tokens exchanged on the spot where a door accepts them as sessions (the Akeyless API). */
  authenticate: AuthService;
  /** The server's public URL (the issuer): what DPoP proofs must name (`htu`). */
  publicBaseUrl?: string;
}

/** Authentication and authorization of one door, audited through the one denial recorder. */
export function installDoorAccess(scope: FastifyInstance, deps: DoorAccessDeps) {
  installAccessControl(scope, {
    sessions: deps.sessions,
    access: deps.access,
    publicBaseUrl: deps.publicBaseUrl,
    exchangeUidToken: async (token, request) =>
      (
        await deps.authenticate(
          { accessType: 'universal_identity', credential: { kind: 'uid_token', uidToken: token } },
          request.ctx,
        )
      ).token,
    onGranted: (request, action, resource, ruleId) =>
      deps.denials.record(
        {
          type: 'access.granted',
          outcome: 'success',
          actor: {},
          resource: resource.path,
          data: {
            action,
            resourceType: resource.type,
            rule: ruleId,
            route: request.routeOptions.url ?? null,
          },
        },
        request.ctx,
      ),
    onDenied: (request, action, resource, reason) =>
      deps.denials.record(
        {
          type: 'access.denied',
          outcome: 'denied',
          actor: {},
          resource: resource.path,
          reason,
          data: { action, resourceType: resource.type, route: request.routeOptions.url ?? null },
        },
        request.ctx,
      ),
  });
}

/**
 * Gives every route of a door a body limit unless the route sets its own (an encapsulated default:
 * Fastify's `bodyLimit` option is server-wide).
 */
export function defaultBodyLimit(scope: FastifyInstance, bytes: number) {
  scope.addHook('onRoute', (route) => {
    route.bodyLimit ??= bytes;
  });
}

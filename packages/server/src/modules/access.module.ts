import { type AccessService, createAccessService } from '../core/access/access.service.js';
import type { DenialRecorder } from '../core/audit/denials.js';
import type { AuthMethodsService } from '../core/auth-methods/auth-methods.service.js';
import { roleConfigKind } from '../core/roles/roles.config-kind.js';
import { createRolesService, type RolesService } from '../core/roles/roles.service.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import { registerAccessRoutes } from '../http/routes/access.routes.js';
import { registerRoleRoutes } from '../http/routes/roles.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

/** Roles, rules and associations, and the access decision every protected route asks for. */
export function createAccessModule(
  platform: Platform,
  deps: { sessions: SessionsService; denials: DenialRecorder; authMethods: AuthMethodsService },
): CapabilityModule<{ access: AccessService; roles: RolesService }> {
  const { uow, clock } = platform;
  const access = createAccessService({ uow, clock });
  const roles = createRolesService({
    uow,
    clock,
    credentials: platform.credentials,
    onChange: () => access.invalidate(),
  });
  platform.configKinds.register(
    roleConfigKind({ credentials: platform.credentials, onChange: () => access.invalidate() }),
  );
  // Cached decisions drop what a change made stale: here, and when another server announces one.
  platform.events.committed('auth_method.changed', ({ authMethodId }) => access.invalidate(authMethodId));
  platform.cluster.onAccessChange(() => access.invalidate());
  return {
    name: 'access',
    services: { access, roles },
    routes: {
      native(app) {
        registerRoleRoutes(app, { roles, authMethods: deps.authMethods });
        registerAccessRoutes(app, { access, sessions: deps.sessions, denials: deps.denials });
      },
    },
  };
}

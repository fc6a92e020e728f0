import type { RolesService } from '../../core/roles/roles.service.js';
import { systemContext } from '../../core/shared/context.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import type { ApprovalsAdmin } from '../approvals/approvals.service.js';
import { createJitRepo, jitMigrations } from './jit.repo.js';
import { registerJitRoutes } from './jit.routes.js';
import { createJitService, type JitService } from './jit.service.js';

/** Just-in-time roles and break-glass (issue 14, ADR 0016), on the approvals capability. */
export function createJitModule(
  platform: Platform,
  deps: { roles: RolesService; approvals: ApprovalsAdmin },
): CapabilityModule<{ jit: JitService }> {
  const { uow, clock, credentials, config } = platform;
  platform.storage.contribute({ name: 'jit', migrations: jitMigrations, repos: { jit: createJitRepo } });
  const jit = createJitService({
    uow,
    clock,
    newId: (prefix) => credentials.newId(prefix),
    ...deps,
    breakGlassMaxSeconds: config.humans.breakGlassMaxSeconds,
  });
  return {
    name: 'jit',
    services: { jit },
    routes: { native: (app: TypedApp) => registerJitRoutes(app, { jit }) },
    jobs: [
      {
        name: 'jit-cleanup',
        scope: 'leader',
        intervalMs: 5_000,
        run: () => jit.cleanup(systemContext('jit-cleanup')),
      },
    ],
  };
}

import type { RolesService } from '../../core/roles/roles.service.js';
import { systemContext } from '../../core/shared/context.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createGovernanceRepo, governanceMigrations } from './governance.repo.js';
import { registerGovernanceRoutes } from './governance.routes.js';
import { createGovernanceService, type GovernanceService } from './governance.service.js';

/**
 * Governance (issue 16, ADR 0019): inventory, posture findings (a leader job: once per cluster),
 * narrowed roles, retirement and offboarding, discovery.
 */
export function createGovernanceModule(
  platform: Platform,
  deps: { roles: RolesService; scanIntervalMs?: number },
): CapabilityModule<{ governance: GovernanceService }> {
  platform.storage.contribute({
    name: 'governance',
    migrations: governanceMigrations,
    repos: { governance: createGovernanceRepo },
  });
  const governance = createGovernanceService({
    uow: platform.uow,
    clock: platform.clock,
    events: platform.events,
    roles: deps.roles,
  });
  return {
    name: 'governance',
    services: { governance },
    routes: {
      native: (app) => registerGovernanceRoutes(app, { governance, nowMs: () => platform.clock.nowMs() }),
    },
    jobs: [
      {
        name: 'posture-scan',
        scope: 'leader',
        intervalMs: deps.scanIntervalMs ?? 15 * 60_000,
        run: () => governance.scan(systemContext('posture-scan')),
      },
    ],
  };
}

import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { registerConfigRoutes } from './config.routes.js';
import { type ConfigService, createConfigService } from './config.service.js';

/**
 * Identity as code (issue 17, ADR 0021): plan, apply and export over every kind the capabilities
 * registered in `platform.configKinds`. Composed last, so that every kind is known.
 */
export function createConfigModule(platform: Platform): CapabilityModule<{ config: ConfigService }> {
  const config = createConfigService({
    uow: platform.uow,
    clock: platform.clock,
    kinds: platform.configKinds,
    fingerprint: (value) => platform.credentials.auditRef(value),
  });
  return {
    name: 'config',
    services: { config },
    routes: { native: (app) => registerConfigRoutes(app, { config }) },
  };
}

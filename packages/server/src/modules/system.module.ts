import { registerMetricsRoutes } from '../http/routes/metrics.routes.js';
import { registerSystemRoutes } from '../http/routes/system.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import { VERSION } from '../version.js';

/** Health, readiness, the JWKS, metrics and the API reference. */
export function createSystemModule(platform: Platform): CapabilityModule<Record<string, never>> {
  const { uow, keyring, delivery, metrics, config } = platform;
  return {
    name: 'system',
    services: {},
    routes: {
      system(app) {
        registerSystemRoutes(app, {
          jwks: () => keyring.jwks(),
          ready: async () => {
            await uow.read((r) => r.authMethods.get('p-readiness-probe'));
            return true;
          },
          notReadyReason: () => delivery.refusal()?.message ?? null,
          version: VERSION,
        });
        registerMetricsRoutes(app, { render: () => metrics.render(), public: config.metricsPublic });
      },
    },
  };
}

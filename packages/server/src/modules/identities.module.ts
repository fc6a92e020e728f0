import { identityConfigKind } from '../core/identities/identities.config-kind.js';
import { createIdentitiesService, type IdentitiesService } from '../core/identities/identities.service.js';
import { registerIdentityRoutes } from '../http/routes/identities.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

/** The inventory of non-human identities. */
export function createIdentitiesModule(
  platform: Platform,
): CapabilityModule<{ identities: IdentitiesService }> {
  const identities = createIdentitiesService({
    uow: platform.uow,
    clock: platform.clock,
    credentials: platform.credentials,
    events: platform.events,
  });
  platform.configKinds.register(
    identityConfigKind({ credentials: platform.credentials, events: platform.events }),
  );
  return {
    name: 'identities',
    services: { identities },
    routes: { native: (app) => registerIdentityRoutes(app, { identities }) },
  };
}

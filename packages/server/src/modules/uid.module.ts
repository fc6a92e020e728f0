import type { DenialRecorder } from '../core/audit/denials.js';
import type { FailureLimiter } from '../core/auth/failure-limiter.js';
import type { AuthMethodRegistry } from '../core/auth-methods/auth-method.registry.js';
import type { AuthMethodsService } from '../core/auth-methods/auth-methods.service.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import { createUidAuthMethodHandler } from '../core/uid/uid.auth-method.js';
import { createUidPresenter } from '../core/uid/uid.presentation.js';
import { createUidService, type UidService } from '../core/uid/uid.service.js';
import { registerUidRoutes } from '../http/routes/uid.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

/**
 * Universal Identity: self-rotating `u-` tokens in trees (DESIGN §2). Brings the
 * `universal_identity` auth-method kind to the registry.
 */
export function createUidModule(
  platform: Platform,
  deps: {
    sessions: SessionsService;
    registry: AuthMethodRegistry;
    authMethods: AuthMethodsService;
    limiter: FailureLimiter;
    denials: Pick<DenialRecorder, 'record'>;
  },
): CapabilityModule<{ uid: UidService }> {
  const { uow, clock, credentials, metrics, config } = platform;
  const { sessions, authMethods } = deps;
  const present = createUidPresenter({ clock, credentials, sessions, metrics });
  deps.registry.register(
    createUidAuthMethodHandler({ present, maxSessionTtlSeconds: config.maxSessionTtlSeconds }),
  );
  const uid = createUidService({
    uow,
    clock,
    credentials,
    sessions,
    present,
    limiter: deps.limiter,
    denials: deps.denials,
    metrics,
  });
  return {
    name: 'uid',
    services: { uid },
    routes: {
      native: (app) => registerUidRoutes(app, { uid, authMethods }),
    },
  };
}

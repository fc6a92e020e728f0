import type { DenialRecorder } from '../core/audit/denials.js';
import { type AuthService, createAuthService } from '../core/auth/auth.service.js';
import { FailureLimiter } from '../core/auth/failure-limiter.js';
import { LastUsedTracker } from '../core/auth/last-used.js';
import { createAccessKeyHandler } from '../core/auth-methods/access-key.auth-method.js';
import { AuthMethodRegistry } from '../core/auth-methods/auth-method.registry.js';
import { authMethodConfigKind } from '../core/auth-methods/auth-methods.config-kind.js';
import {
  type AuthMethodsService,
  createAuthMethodsService,
} from '../core/auth-methods/auth-methods.service.js';
import type { SessionsService } from '../core/sessions/sessions.service.js';
import { registerAuthRoutes } from '../http/routes/auth.routes.js';
import { registerAuthMethodRoutes } from '../http/routes/auth-methods.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

export interface AuthenticationServices {
  /** The kinds of auth method; a capability that brings a kind registers its handler here. */
  registry: AuthMethodRegistry;
  authMethods: AuthMethodsService;
  /** `POST /v1/auth`: a credential exchanged for a session token. */
  authenticate: AuthService;
  /** Failed authentications per source (rate limiting shared by every credential endpoint). */
  limiter: FailureLimiter;
  lastUsed: LastUsedTracker;
}

/** Auth methods and the exchange of a credential for a session token. */
export function createAuthenticationModule(
  platform: Platform,
  deps: {
    sessions: SessionsService;
    /** Refusals of a blocked source are recorded collapsed (one event, then one summary per window). */
    denials: Pick<DenialRecorder, 'record'>;
  },
): CapabilityModule<AuthenticationServices> {
  const { uow, clock, config, credentials, metrics } = platform;
  const { sessions } = deps;
  const registry = new AuthMethodRegistry().register(
    createAccessKeyHandler({ credentials, maxSessionTtlSeconds: config.maxSessionTtlSeconds }),
  );
  const authMethods = createAuthMethodsService({
    uow,
    clock,
    credentials,
    registry,
    sessions,
    events: platform.events,
  });
  platform.configKinds.register(
    authMethodConfigKind({ registry, credentials, sessions, events: platform.events }),
  );
  const lastUsed = new LastUsedTracker();
  const limiter = new FailureLimiter(clock, config.authFailureLimit, config.authFailureWindowSeconds * 1000);
  const authenticate = createAuthService({
    uow,
    clock,
    registry,
    sessions,
    limiter,
    lastUsed,
    denials: deps.denials,
    metrics,
  });
  return {
    name: 'authentication',
    services: { registry, authMethods, authenticate, limiter, lastUsed },
    routes: {
      native(app) {
        registerAuthRoutes(app, { authenticate });
        registerAuthMethodRoutes(app, { authMethods });
      },
    },
    jobs: [
      { name: 'last-used-flush', scope: 'every-server', intervalMs: 15_000, run: () => lastUsed.flush(uow) },
    ],
    async close() {
      await lastUsed.flush(uow).catch(() => {});
    },
  };
}

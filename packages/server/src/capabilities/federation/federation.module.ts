import type { AuthMethodRegistry } from '../../core/auth-methods/auth-method.registry.js';
import {
  FEDERATION_ALGORITHMS,
  federationJwksProblem,
  peekJwt,
  verifyFederatedJwt,
} from '../../crypto/federated-jwt.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createOneTimeKeyRepo } from '../../storage/repos/one-time-keys.repo.js';
import { createFederationHandler } from './federation.auth-method.js';
import { createJwksCache, type JwksCache, type JwksCacheOptions } from './jwks-cache.js';

/**
 * Workload identity federation (issue 13): the `oidc_federation` auth-method kind. Methods are
 * created through the ordinary `POST /v1/auth-methods` (type `oidc_federation`) and used at
 * `POST /v1/auth` (accessType `oidc_federation`, accessId, jwt).
 */
export function createFederationModule(
  platform: Platform,
  deps: { registry: AuthMethodRegistry; jwks?: Omit<JwksCacheOptions, 'jwksProblem'> },
): CapabilityModule<{ jwks: JwksCache }> {
  const { uow, clock, credentials, config } = platform;
  const jwks = createJwksCache(clock, { ...deps.jwks, jwksProblem: federationJwksProblem });
  // One-time tokens: the platform's `one_time_keys` table, inside the authentication transaction.
  platform.storage.contribute({
    name: 'federation',
    repos: { federationOneTimeKeys: (target) => createOneTimeKeyRepo(target.db, clock) },
  });
  deps.registry.register(
    createFederationHandler({
      uow,
      clock,
      credentials,
      jwks,
      maxSessionTtlSeconds: config.maxSessionTtlSeconds,
      crypto: {
        algorithms: FEDERATION_ALGORITHMS,
        peek: peekJwt,
        verify: verifyFederatedJwt,
        jwksProblem: federationJwksProblem,
      },
    }),
  );
  return { name: 'federation', services: { jwks } };
}

import type { DynamicSecretsService } from '../core/dynamic/dynamic.service.js';
import { createDynamicSecretsService } from '../core/dynamic/dynamic.service.js';
import { createLeasesService, type LeasesService } from '../core/leases/leases.service.js';
import type { SecretCipher } from '../core/secrets/secret-cipher.port.js';
import { dynamicPassword, randomPassword } from '../crypto/random-password.js';
import { registerDynamicSecretRoutes } from '../http/routes/dynamic-secrets.routes.js';
import { registerLeasesRevokeFailedGauge } from '../monitoring/tessera-metrics.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import { createMysqlProducer } from '../producers/mysql.producer.js';
import { createPostgresProducer } from '../producers/postgresql.producer.js';
import { createRedisProducer } from '../producers/redis.producer.js';
import { ProducerRegistry } from '../producers/registry.js';

export interface DynamicSecretsServices {
  dynamicSecrets: DynamicSecretsService;
  leases: LeasesService;
  /** The database targets Tessera mints accounts on (rotated secrets use them too). */
  producers: ProducerRegistry;
}

/** Dynamic secrets: one expiring account per read, each a lease the reaper revokes (ADR 0010). */
export function createDynamicSecretsModule(
  platform: Platform,
  deps: { cipher: SecretCipher },
): CapabilityModule<DynamicSecretsServices> {
  const { uow, clock, log, credentials } = platform;
  const producers = new ProducerRegistry()
    .register(createPostgresProducer())
    .register(createMysqlProducer())
    .register(createRedisProducer());
  const dynamicSecrets = createDynamicSecretsService({
    uow,
    clock,
    cipher: deps.cipher,
    producers,
    ids: credentials,
  });
  const leases = createLeasesService({
    uow,
    clock,
    items: dynamicSecrets,
    producers,
    ids: credentials,
    random: (length) => randomPassword(Math.max(16, length)).slice(0, length),
    password: dynamicPassword,
    events: platform.events,
  });
  let revokeFailed = 0;
  registerLeasesRevokeFailedGauge(platform.metrics.registry, () => revokeFailed);
  const reap = () => leases.reap().catch((error) => log.error({ err: error }, 'lease reaping failed'));
  // A retired identity's leases become due in the transaction that retired it (no I/O there);
  // the reaper revokes them once that is committed.
  platform.events.within('identity.deactivated', async (r, { identityId, state }) => {
    if (state === 'retired' && (await leases.markIdentityDue(r, identityId)) > 0)
      r.afterCommit(() => void reap());
  });
  // Leases end with the credential they were obtained through (a UID token or subtree, an auth
  // method); the reaper revokes them after the commit. Retirement is handled above.
  platform.events.within('credential.revoked', async (r, { kind, subject }) => {
    // A single session token ('token') obtains nothing that outlives it by itself.
    if (kind !== 'identity' && kind !== 'token') await leases.markCredentialDue(r, { kind, subject });
  });
  return {
    name: 'dynamic-secrets',
    services: { dynamicSecrets, leases, producers },
    routes: {
      native: (app) => registerDynamicSecretRoutes(app, { items: dynamicSecrets, leases }),
    },
    jobs: [
      {
        name: 'lease-reaper',
        // The revoke_failed gauge is therefore current on the leader only.
        scope: 'leader',
        intervalMs: 5000,
        run: async () => {
          const report = await leases.reap();
          revokeFailed = await leases.countRevokeFailed();
          if (report.failed > 0)
            log.error(
              { failed: report.failed },
              'leases could not be revoked: see GET /v1/leases?state=revoke_failed',
            );
        },
      },
    ],
    close: () => producers.close(),
  };
}

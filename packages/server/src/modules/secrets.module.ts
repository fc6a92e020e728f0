import type { SecretCipher } from '../core/secrets/secret-cipher.port.js';
import type { SecretReadGate } from '../core/secrets/secrets.approval.js';
import { secretConfigKind } from '../core/secrets/secrets.config-kind.js';
import { createSecretKeysService, type SecretKeysService } from '../core/secrets/secrets.keys.js';
import {
  createSecretsService,
  createSecretWrites,
  type SecretsService,
} from '../core/secrets/secrets.service.js';
import { createSecretCipher } from '../crypto/secret-cipher.js';
import { registerSecretRoutes } from '../http/routes/secrets.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

export interface SecretsServices {
  secrets: SecretsService;
  secretKeys: SecretKeysService;
  /** Envelope encryption under the versioned KEKs; dynamic and rotated secrets seal with it too. */
  cipher: SecretCipher;
  /** Re-wraps data keys under the active KEK now (once at a time); the job does it every 30 s. */
  rewrapKeys: () => Promise<unknown>;
}

/**
 * Static secrets and the key-encryption keys every secret's data key is wrapped under (ADR 0007).
 * `gate` admits reads of approval-required items (the approvals capability); without it they are refused.
 */
export function createSecretsModule(
  platform: Platform,
  deps: { gate?: SecretReadGate } = {},
): CapabilityModule<SecretsServices> {
  const { uow, clock, log } = platform;
  const cipher = createSecretCipher(platform.rootKey);
  const secrets = createSecretsService({
    uow,
    clock,
    cipher,
    ids: platform.credentials,
    ...(deps.gate ? { gate: deps.gate } : {}),
  });
  const secretKeys = createSecretKeysService({ uow, clock, cipher });
  // Identity as code declares static secrets too, their values by reference only (ADR 0030).
  platform.configKinds.register(
    secretConfigKind({
      writes: createSecretWrites({ cipher, clock, ids: platform.credentials }),
      fingerprint: (value) => platform.credentials.auditRef(value),
    }),
  );
  let rewrapping: Promise<unknown> | null = null;
  const rewrapKeys = () => {
    rewrapping ??= secretKeys
      .rewrapPending()
      .then((report) => {
        if (report.failed > 0)
          log.error({ failed: report.failed }, 'secret data keys failed to unwrap: their KEK is kept');
      })
      .finally(() => {
        rewrapping = null;
      });
    return rewrapping;
  };
  return {
    name: 'secrets',
    services: { secrets, secretKeys, cipher, rewrapKeys },
    async start() {
      cipher.loadKeks(await uow.read((r) => r.secretKeys.list()));
    },
    routes: {
      native: (app) =>
        registerSecretRoutes(app, {
          secrets,
          secretKeys,
          // A KEK rotation committed: start re-wrapping now rather than at the job's next run.
          onKekRotated: () => {
            rewrapKeys().catch((error) => log.error({ err: error }, 'secret key re-wrap failed'));
          },
        }),
    },
    jobs: [
      {
        name: 'secret-purge',
        scope: 'leader',
        intervalMs: 60_000,
        run: () => secrets.purgeExpired(clock.nowMs()),
      },
      { name: 'secret-kek-rewrap', scope: 'leader', intervalMs: 30_000, run: rewrapKeys },
    ],
    async close() {
      await rewrapping?.catch(() => {});
    },
  };
}

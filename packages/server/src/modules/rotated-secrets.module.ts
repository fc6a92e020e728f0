import { rotatedPasswordRef } from '../core/rotated-secrets/rotated-secrets.model.js';
import {
  createRotationService,
  type RotationOptions,
  type RotationService,
} from '../core/rotated-secrets/rotated-secrets.service.js';
import type { SecretCipher } from '../core/secrets/secret-cipher.port.js';
import { sha256Hex } from '../crypto/credentials.js';
import { rotatedPassword } from '../crypto/random-password.js';
import { registerRotatedSecretRoutes } from '../http/routes/rotated-secrets.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';
import type { ProducerRegistry } from '../producers/registry.js';

/** Rotated secrets: accounts Tessera owns on a target and re-passwords on a schedule (ADR 0011). */
export function createRotatedSecretsModule(
  platform: Platform,
  deps: {
    cipher: SecretCipher;
    producers: ProducerRegistry;
    /** Backoff and claim timings (tests shorten them). */
    options?: Partial<RotationOptions>;
    /** How often due rotations are looked for; default 1 s. */
    pollMs?: number;
  },
): CapabilityModule<{ rotation: RotationService }> {
  const rotation = createRotationService({
    uow: platform.uow,
    clock: platform.clock,
    cipher: deps.cipher,
    ids: platform.credentials,
    producer: (type) => deps.producers.get(type),
    newPassword: () => rotatedPassword(32),
    passwordHash: (password) => rotatedPasswordRef(platform.credentials.auditRef, sha256Hex(password)),
    ...(deps.options ? { options: deps.options } : {}),
  });
  return {
    name: 'rotated-secrets',
    services: { rotation },
    routes: { native: (app) => registerRotatedSecretRoutes(app, { rotation }) },
    // Due rotations, retries (with backoff) and retirements after the grace period.
    jobs: [
      {
        name: 'secret-rotation',
        scope: 'leader',
        intervalMs: deps.pollMs ?? 1000,
        run: () => rotation.runDue(),
      },
    ],
  };
}

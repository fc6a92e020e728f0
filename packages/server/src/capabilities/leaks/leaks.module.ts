import type { LeasesService } from '../../core/leases/leases.service.js';
import { rotatedPasswordRef } from '../../core/rotated-secrets/rotated-secrets.model.js';
import type { RotationService } from '../../core/rotated-secrets/rotated-secrets.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createLeaksRepo, leaksMigrations } from './leaks.repo.js';
import { registerLeaksRoutes } from './leaks.routes.js';
import { createLeaksService, type LeaksService } from './leaks.service.js';

/** Lease credentials are kept as long as the longest lease may live (the dynamic secrets' cap). */
const LEASE_CREDENTIAL_RETENTION_MS = 31 * 86_400_000;

/**
 * Leaked-credential reports (issue 17, ADR 0020): `POST /v1/leaks` identifies each reported
 * credential by hash, revokes it, alerts its owner and records a finding; `GET /v1/leaks` lists the
 * findings. It learns dynamic passwords' hashes from `lease.credential_issued`.
 */
export function createLeaksModule(
  platform: Platform,
  deps: { sessions: SessionsService; leases: LeasesService; rotation: RotationService },
): CapabilityModule<{ leaks: LeaksService }> {
  const { uow, clock, credentials } = platform;
  platform.storage.contribute({
    name: 'leaks',
    migrations: leaksMigrations,
    repos: { leaks: createLeaksRepo },
  });
  const leaks = createLeaksService({
    uow,
    clock,
    credentials,
    sessions: deps.sessions,
    leases: deps.leases,
    rotation: deps.rotation,
    rotatedPasswordRef: (sha256Hex) => rotatedPasswordRef(credentials.auditRef, sha256Hex),
    rootKeyId: platform.rootKey.id,
  });
  platform.events.within('lease.credential_issued', (r, { credentialHash, leaseId }) =>
    leaks.rememberLeaseCredential(r, credentialHash, leaseId),
  );
  return {
    name: 'leaks',
    services: { leaks },
    routes: { native: (app) => registerLeaksRoutes(app, { leaks }) },
    jobs: [
      {
        name: 'leak-lease-credentials-prune',
        scope: 'leader',
        intervalMs: 3_600_000,
        run: async () => {
          await leaks.pruneLeaseCredentials(LEASE_CREDENTIAL_RETENTION_MS);
        },
      },
    ],
  };
}

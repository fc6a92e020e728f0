import type { AuthMethodRegistry } from '../../core/auth-methods/auth-method.registry.js';
import { systemContext } from '../../core/shared/context.js';
import { caBundleProblem, readCertificate, verifyIssuedBy } from '../../crypto/certificates.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createCertificateHandler } from './certificate.auth-method.js';
import { pkiProfileConfigKind } from './pki.config-kind.js';
import { createPkiRepo, pkiMigrations } from './pki.repo.js';
import { CRL_PATH, OCSP_PATH, registerPkiPublicRoutes, registerPkiRoutes } from './pki.routes.js';
import { createPkiService, type PkiService } from './pki.service.js';

/**
 * The internal certificate authority (issue 13, ADR 0024): profiles, issuance from a CSR,
 * revocation, the trust bundle and CRL; and the `certificate` auth method (mTLS client
 * certificates). Certificates of a retired identity are revoked in the transaction that retires it.
 */
export function createPkiModule(
  platform: Platform,
  deps: { registry: AuthMethodRegistry },
): CapabilityModule<{ pki: PkiService }> {
  const { uow, clock, config, credentials, rootKey } = platform;
  platform.storage.contribute({ name: 'pki', migrations: pkiMigrations, repos: { pki: createPkiRepo } });
  const pki = createPkiService({
    uow,
    clock,
    credentials,
    rootKey,
    crlUrl: `${config.issuer.replace(/\/+$/, '')}${CRL_PATH}`,
    ocspUrl: `${config.issuer.replace(/\/+$/, '')}${OCSP_PATH}`,
  });
  // Identity as code declares certificate profiles too (issue 17).
  platform.configKinds.register(pkiProfileConfigKind());
  deps.registry.register(
    createCertificateHandler({
      clock,
      maxSessionTtlSeconds: config.maxSessionTtlSeconds,
      crypto: { read: readCertificate, verifyIssuedBy, caBundleProblem },
    }),
  );
  platform.events.within('identity.deactivated', async (r, { identityId, state }) => {
    if (state !== 'retired') return; // a suspended identity is refused at authentication, and may return
    const now = clock.nowMs();
    const serials = await r.pki.revokeOfIdentity(identityId, now);
    if (serials.length === 0) return;
    await r.audit.append(
      {
        type: 'pki.certificate_revoked',
        outcome: 'success',
        actor: {},
        resource: '/pki/*',
        data: {
          serials: serials.slice(0, 100),
          count: serials.length,
          identityId,
          cause: 'identity_retired',
        },
      },
      systemContext('identity-retired'),
      now,
    );
    r.afterCommit(() => pki.invalidateCrl());
  });
  return {
    name: 'pki',
    services: { pki },
    routes: {
      native: (app: TypedApp) => registerPkiRoutes(app, { pki, uow }),
      system: (app: TypedApp) => registerPkiPublicRoutes(app, { pki }),
    },
  };
}

import { type AuditService, createAuditService } from '../core/audit/audit.service.js';
import { createDenialRecorder, type DenialRecorder } from '../core/audit/denials.js';
import { registerAuditRoutes } from '../http/routes/audit.routes.js';
import { registerAuditLedgerRoutes } from '../http/routes/audit-ledger.routes.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

/**
 * Reading the audit ledger (queries, verification, archiving) and the collapsed record of access
 * decisions. Appending is the platform's: every unit of work appends its own events.
 */
export function createAuditModule(
  platform: Platform,
): CapabilityModule<{ audit: AuditService; denials: DenialRecorder }> {
  const { uow, clock, ledger } = platform;
  const audit = createAuditService({ uow, hasher: platform.auditHasher });
  const denials = createDenialRecorder({ uow, clock });
  return {
    name: 'audit',
    services: { audit, denials },
    routes: {
      native(app) {
        registerAuditRoutes(app, { audit });
        registerAuditLedgerRoutes(app, {
          verify: () => ledger.verify(),
          checkpointKey: () => platform.checkpointSigner.publicJwk(),
          archive: (throughSeq: number) => ledger.archive(throughSeq, clock.nowMs()),
        });
      },
    },
    jobs: [
      { name: 'denial-summaries', scope: 'every-server', intervalMs: 10_000, run: () => denials.flush() },
    ],
    async close() {
      await denials.flush(true).catch(() => {});
    },
  };
}

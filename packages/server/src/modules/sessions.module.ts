import { createSessionsService, type SessionsService } from '../core/sessions/sessions.service.js';
import { systemContext } from '../core/shared/context.js';
import { createDpopVerifier } from '../crypto/jose-verify.js';
import { registerRevocationSetGauge } from '../monitoring/tessera-metrics.js';
import type { CapabilityModule } from '../platform/module.js';
import type { Platform } from '../platform/platform.js';

const REVOCATION_BATCH = 10_000;

/**
 * Session tokens: issuance and verification, the revocation set every server checks (synced from
 * the store, pushed by other servers), and the signing keys' scheduled rotation.
 */
export function createSessionsModule(platform: Platform): CapabilityModule<{
  sessions: SessionsService;
  /** Reads revocations other servers committed (the job does it every poll interval). */
  syncRevocations: () => Promise<void>;
}> {
  const { config, clock, keyring, uow, log } = platform;
  const maxTokenTtlMs = config.maxSessionTtlSeconds * 1000;
  const sessions = createSessionsService({
    codec: keyring,
    clock,
    credentials: platform.credentials,
    config: {
      issuer: config.issuer,
      audience: config.audience,
      maxSessionTtlSeconds: config.maxSessionTtlSeconds,
    },
    reloadKeys: () => keyring.load(),
    events: platform.events,
    // `Authorization: DPoP` on every door (RFC 9449 §7): each proof single-use across servers.
    dpop: createDpopVerifier({ consume: (key, ttl) => platform.oneTimeKeys.consume(key, ttl) }).port,
  });
  registerRevocationSetGauge(platform.metrics.registry, () => sessions.revocationSetSize());
  // A suspended or retired identity's tokens stop working in the transaction that changed it.
  platform.events.within('identity.deactivated', (r, { identityId, state }) =>
    sessions.revokeIdentityTokens(r, identityId, `identity ${state}`),
  );

  const syncRevocations = async () => {
    for (;;) {
      const batch = await uow.read((r) =>
        r.revocations.listAfter(sessions.highestRevocationSeq(), REVOCATION_BATCH),
      );
      sessions.applyRevocations(batch);
      if (batch.length < REVOCATION_BATCH) return;
    }
  };
  let syncing: Promise<void> | null = null;
  platform.cluster.onRevocation(() => {
    syncing ??= syncRevocations()
      .catch((error) => log.error({ err: error }, 'revocation sync failed'))
      .finally(() => {
        syncing = null;
      });
  });

  /** Key rotations are audited like any other change. */
  const recordKeyRotation = (previousKid: string | null, reason: string) =>
    uow.write((r) =>
      r.audit.append(
        {
          type: 'signing_key.rotated',
          outcome: 'success',
          actor: {},
          resource: '/keys/session-tokens',
          data: { kid: keyring.activeKid(), previousKid, reason },
        },
        systemContext('key-rotation'),
        clock.nowMs(),
      ),
    );
  const rotateKeyIfDue = async (reason: string) => {
    const previousKid = keyring.activeKid();
    if (await keyring.rotateIfDue(clock.nowMs(), config.signingKeyRotationSeconds * 1000, maxTokenTtlMs)) {
      await recordKeyRotation(previousKid, previousKid ? reason : 'first key');
      log.info({ kid: keyring.activeKid() }, 'signing key rotated');
    }
  };

  return {
    name: 'sessions',
    services: { sessions, syncRevocations },
    async start() {
      await rotateKeyIfDue('due at start-up');
      await syncRevocations();
    },
    jobs: [
      // Scopes (jobs/scheduler.ts): `every-server` jobs keep this server's memory current;
      // `leader` jobs change the shared store and run once per cluster.
      {
        name: 'revocation-sync',
        scope: 'every-server',
        intervalMs: config.revocationPollMs,
        run: syncRevocations,
      },
      // Every server must learn a new active key; only the leader creates one (else each server
      // would rotate when due, and retire the others' new keys).
      { name: 'signing-key-reload', scope: 'every-server', intervalMs: 60_000, run: () => keyring.load() },
      {
        name: 'signing-key-rotation',
        scope: 'leader',
        intervalMs: 60_000,
        run: async () => {
          await keyring.load();
          await rotateKeyIfDue('scheduled');
        },
      },
      // The in-memory revocation set on every server; the shared table once per cluster.
      {
        name: 'revocation-prune',
        scope: 'every-server',
        intervalMs: 60_000,
        run: async () => sessions.pruneRevocations(),
      },
      {
        name: 'revocation-table-prune',
        scope: 'leader',
        intervalMs: 60_000,
        run: () => uow.write((r) => r.revocations.deleteExpired(clock.nowMs())),
      },
    ],
    close: async () => {
      await syncing;
    },
  };
}

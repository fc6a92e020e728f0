import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { type AuditDelivery, startAuditDelivery } from './audit-sinks/index.js';
import type { Config } from './config/config.js';
import { createAccessService } from './core/access/access.service.js';
import { ADMIN_ROLE_ID } from './core/access/roles.model.js';
import { createRolesService } from './core/access/roles.service.js';
import { createAuditService } from './core/audit/audit.service.js';
import type { LedgerReport } from './core/audit/audit.verify.js';
import { createDenialRecorder } from './core/audit/denials.js';
import { createAuthService } from './core/auth/auth.service.js';
import { FailureLimiter } from './core/auth/failure-limiter.js';
import { LastUsedTracker } from './core/auth/last-used.js';
import { createAccessKeyHandler } from './core/auth-methods/access-key.auth-method.js';
import { AuthMethodRegistry } from './core/auth-methods/auth-method.registry.js';
import { createAuthMethodsService } from './core/auth-methods/auth-methods.service.js';
import { createDynamicSecretsService } from './core/dynamic/dynamic.service.js';
import { createLeasesService } from './core/dynamic/leases.service.js';
import { createIdentitiesService } from './core/identities/identities.service.js';
import { createTesseraMetrics } from './core/monitoring/tessera-metrics.js';
import { createRotationService, type RotationOptions } from './core/rotation/rotation.service.js';
import { createSecretKeysService } from './core/secrets/secrets.keys.js';
import { createSecretsService } from './core/secrets/secrets.service.js';
import { createSessionsService } from './core/sessions/sessions.service.js';
import { systemContext } from './core/shared/context.js';
import type { Clock } from './core/shared/ports.js';
import { createUidAuthMethodHandler } from './core/uid/uid.auth-method.js';
import { createUidPresenter } from './core/uid/uid.presentation.js';
import { createUidService } from './core/uid/uid.service.js';
import { createAuditHasher } from './crypto/audit-hash.js';
import { ChainHasher, CheckpointSigner } from './crypto/audit-ledger.js';
import { createCredentialFactory } from './crypto/credentials.js';
import { Keyring } from './crypto/keyring.js';
import { randomPassword } from './crypto/random-password.js';
import { loadOrCreateRootKeyFile, rootKeyFromBase64 } from './crypto/root-key.js';
import { createSecretCipher } from './crypto/secret-cipher.js';
import { buildApp } from './http/app.js';
import { startJobs } from './jobs/scheduler.js';
import { createMysqlProducer } from './producers/mysql.producer.js';
import { createPostgresProducer } from './producers/postgresql.producer.js';
import { createRedisProducer } from './producers/redis.producer.js';
import { ProducerRegistry } from './producers/registry.js';
import { CheckpointFile, createLedger } from './storage/audit-ledger.js';
import { migrate, openStore } from './storage/database.js';
import { listenForRevocations } from './storage/notifier.js';
import { AuthMethodCache, ChainHead, repoFactory } from './storage/repos/index.js';
import { createSigningKeyStore } from './storage/repos/signing-keys.repo.js';
import { assertRootKeyMatches, auditKeySource } from './storage/root-sealed-keys.js';
import type { Database } from './storage/schema.js';
import { createGroupCommitUnitOfWork } from './storage/unit-of-work.js';
import { VERSION } from './version.js';

export const ADMIN_METHOD_NAME = 'tessera-admin';

export interface TesseraOptions {
  /** Injected clock (tests); defaults to the system clock. */
  clock?: Clock;
  /** Fastify logger options; defaults to JSON logs at the configured level. */
  logger?: FastifyServerOptions['logger'];
  /** Rotated secrets: backoff and claim timings (tests shorten them). */
  rotation?: Partial<RotationOptions>;
  /** How often the rotation job looks for due work; default 1 s. */
  rotationPollMs?: number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** Composition root: builds every service with exactly the dependencies it uses (DESIGN §4.3). */
export async function createTessera(config: Config, options: TesseraOptions = {}) {
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const rootKey = config.rootKeyBase64
    ? rootKeyFromBase64(config.rootKeyBase64)
    : loadOrCreateRootKeyFile(join(config.dataDir, 'root.key')).key;

  const store = openStore(config.storeUrl);
  await migrate(store);
  await assertRootKeyMatches(store.db, rootKey);
  // The audit keys come from the original root key, which a root-key rotation keeps sealed (ADR 0007).
  const auditKey = await auditKeySource(store.db, rootKey);
  const keyring = new Keyring(createSigningKeyStore(store.db), rootKey);
  await keyring.load();
  const maxTokenTtlMs = config.maxSessionTtlSeconds * 1000;
  const initialKid = keyring.activeKid();
  await keyring.rotateIfDue(clock.nowMs(), config.signingKeyRotationSeconds * 1000, maxTokenTtlMs);

  const logger = options.logger ?? { level: config.logLevel };
  const auditHasher = createAuditHasher(auditKey);
  const credentials = createCredentialFactory(auditHasher);
  let app: FastifyInstance | null = null;
  const chain = new ChainHead();
  const chainHasher = new ChainHasher(auditKey);
  const checkpointSigner = new CheckpointSigner(auditKey);
  const ledger = createLedger({
    store,
    hasher: chainHasher,
    signer: checkpointSigner,
    file: new CheckpointFile(join(config.dataDir, 'audit', 'checkpoints.jsonl')),
  });
  const methodCache = new AuthMethodCache(() => clock.nowMs());
  /** Refreshed by the lease reaper job (a gauge is read synchronously at scrape time). */
  let leasesRevokeFailed = 0;
  const metrics = createTesseraMetrics({
    version: VERSION,
    residentMemoryBytes: () => process.memoryUsage.rss(),
    revocationSetSize: () => sessions.revocationSetSize(),
    leasesRevokeFailed: () => leasesRevokeFailed,
  });
  let delivery: AuditDelivery | null = null;
  const uow = createGroupCommitUnitOfWork(
    store,
    repoFactory(store.dialect, {
      chain,
      direct: store.direct,
      methodCache,
      hasher: chainHasher,
      onAppended: (event) => delivery?.appended(event),
    }),
    {
      onCommitFailure: (error) =>
        app?.log.error({ err: error }, 'store commit failed: requests are refused until it recovers'),
      onFlush: (seconds, outcome) => {
        metrics.commit(seconds, outcome);
        if (outcome === 'committed') delivery?.committed();
      },
      // Fail closed (issue 4): while every audit sink is failing, writes (each appends an event) are refused.
      gate: () => delivery?.refusal() ?? null,
      // Several servers write one PostgreSQL: each write transaction first takes the ledger-head lock,
      // one lock in one order for everyone, so audit chaining and revocation order need no other.
      ...(store.dialect === 'postgres'
        ? {
            begin: async (trx: Kysely<Database>) => {
              await trx.selectFrom('audit_head').select('seq').where('id', '=', 1).forUpdate().execute();
            },
          }
        : {}),
      memory: {
        snapshot: () => chain.current,
        restore: (s) => {
          chain.current = s as ChainHead['current'];
          methodCache.forget();
        },
        reset: () => {
          chain.current = null;
          methodCache.forget();
        },
      },
    },
  );
  const sessions = createSessionsService({
    codec: keyring,
    clock,
    credentials,
    config: {
      issuer: config.issuer,
      audience: config.audience,
      maxSessionTtlSeconds: config.maxSessionTtlSeconds,
    },
    reloadKeys: () => keyring.load(),
    // Leases end with the UID token / auth method they came through (issue 10); identities: below.
    onRevoke: async (r, { kind, subject }) => {
      if (kind !== 'identity') await leasesRef?.markCredentialDue(r, { kind, subject });
    },
  });
  const syncRevocations = async () => {
    for (;;) {
      const batch = await uow.read((r) => r.revocations.listAfter(sessions.highestRevocationSeq(), 10_000));
      sessions.applyRevocations(batch);
      if (batch.length < 10_000) return;
    }
  };
  await syncRevocations();
  delivery = await startAuditDelivery({
    sinks: config.auditSinks,
    alerts: config.alerts,
    uow,
    clock,
    metrics,
    log: () => app?.log,
  });

  const present = createUidPresenter({ clock, credentials, sessions, metrics });
  const registry = new AuthMethodRegistry()
    .register(createAccessKeyHandler({ credentials, maxSessionTtlSeconds: config.maxSessionTtlSeconds }))
    .register(createUidAuthMethodHandler({ present, maxSessionTtlSeconds: config.maxSessionTtlSeconds }));
  const authMethods = createAuthMethodsService({ uow, clock, credentials, registry, sessions });
  // Retiring or suspending an identity also makes its leases due (no I/O in that transaction); the
  // reaper revokes them right after the commit (issue 6).
  let leasesRef: ReturnType<typeof createLeasesService> | null = null;
  const identities = createIdentitiesService({
    uow,
    clock,
    credentials,
    revoker: {
      async revokeIdentityTokens(r, identityId, reason) {
        await sessions.revokeIdentityTokens(r, identityId, reason);
        if (reason !== 'identity retired' || !leasesRef) return;
        if ((await leasesRef.markIdentityDue(r, identityId)) > 0)
          r.afterCommit(
            () =>
              void leasesRef?.reap().catch((error) => app?.log.error({ err: error }, 'lease reaping failed')),
          );
      },
    },
  });
  const access = createAccessService({ uow, clock });
  const roles = createRolesService({ uow, clock, credentials, onChange: () => access.invalidate() });
  const audit = createAuditService({ uow, hasher: auditHasher });
  const lastUsed = new LastUsedTracker();
  const limiter = new FailureLimiter(clock, config.authFailureLimit, config.authFailureWindowSeconds * 1000);
  const uid = createUidService({ uow, clock, credentials, sessions, present, limiter, metrics });
  const authenticate = createAuthService({ uow, clock, registry, sessions, limiter, lastUsed, metrics });

  const cipher = createSecretCipher(rootKey);
  cipher.loadKeks(await uow.read((r) => r.secretKeys.list()));
  const secrets = createSecretsService({ uow, clock, cipher, ids: credentials });
  const secretKeys = createSecretKeysService({ uow, clock, cipher });
  const producers = new ProducerRegistry()
    .register(createPostgresProducer())
    .register(createMysqlProducer())
    .register(createRedisProducer());
  const rotation = createRotationService({
    uow,
    clock,
    cipher,
    ids: credentials,
    producer: (type) => producers.get(type),
    newPassword: () => randomPassword(32),
    ...(options.rotation ? { options: options.rotation } : {}),
  });
  const dynamicSecrets = createDynamicSecretsService({ uow, clock, cipher, producers, ids: credentials });
  const leases = createLeasesService({
    uow,
    clock,
    items: dynamicSecrets,
    producers,
    ids: credentials,
    random: (length) => randomPassword(Math.max(16, length)).slice(0, length),
  });
  leasesRef = leases;
  let rewrapping: Promise<unknown> | null = null;
  /** Re-wraps data keys under the active KEK (once at a time), then destroys unused KEKs. */
  const rewrapKeys = () => {
    rewrapping ??= secretKeys
      .rewrapPending()
      .then((report) => {
        if (report.failed > 0)
          app?.log.error({ failed: report.failed }, 'secret data keys failed to unwrap: their KEK is kept');
      })
      .finally(() => {
        rewrapping = null;
      });
    return rewrapping;
  };

  const denials = createDenialRecorder({ uow, clock });
  app = await buildApp({
    denials,
    sessions,
    access,
    roles,
    authenticate,
    identities,
    authMethods,
    uid,
    audit,
    jwks: () => keyring.jwks(),
    ready: async () => {
      await uow.read((r) => r.authMethods.get('p-readiness-probe'));
      return true;
    },
    notReadyReason: () => delivery?.refusal()?.message ?? null,
    version: VERSION,
    auditLedger: {
      verify: () => ledger.verify(),
      checkpointKey: () => checkpointSigner.publicJwk(),
      archive: (throughSeq: number) => ledger.archive(throughSeq, clock.nowMs()),
    },
    logger,
    trustProxy: config.trustProxy,
    newRequestId: () => credentials.newId('req-', 24),
    metrics,
    metricsPublic: config.metricsPublic,
    clock,
    secrets,
    secretKeys,
    dynamic: { items: dynamicSecrets, leases },
    rotation,
    onKekRotated: () => {
      rewrapKeys().catch((error) => app?.log.error({ err: error }, 'secret key re-wrap failed'));
    },
  });
  const log = app.log;
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
  if (initialKid !== keyring.activeKid())
    await recordKeyRotation(initialKid, initialKid ? 'due at start-up' : 'first key');
  let syncing: Promise<void> | null = null;
  const syncSoon = () => {
    if (syncing) return;
    syncing = syncRevocations()
      .catch((error) => log.error({ err: error }, 'revocation sync failed'))
      .finally(() => {
        syncing = null;
      });
  };
  const listener = listenForRevocations(
    store,
    syncSoon,
    (error) => log.warn({ err: error }, 'revocation listener error; reconnecting'),
    () => access.invalidate(),
  );

  const jobs = startJobs(
    [
      { name: 'revocation-sync', intervalMs: config.revocationPollMs, run: syncRevocations },
      { name: 'last-used-flush', intervalMs: 15_000, run: () => lastUsed.flush(uow) },
      {
        name: 'signing-key-rotation',
        intervalMs: 60_000,
        run: async () => {
          await keyring.load();
          const previousKid = keyring.activeKid();
          if (
            await keyring.rotateIfDue(clock.nowMs(), config.signingKeyRotationSeconds * 1000, maxTokenTtlMs)
          ) {
            await recordKeyRotation(previousKid, 'scheduled');
            log.info({ kid: keyring.activeKid() }, 'signing key rotated');
          }
        },
      },
      {
        name: 'audit-checkpoint',
        intervalMs: config.auditCheckpointSeconds * 1000,
        run: async () => {
          const checkpoint = await ledger.checkpoint(clock.nowMs());
          if (checkpoint) delivery?.checkpoint(checkpoint);
        },
      },
      { name: 'denial-summaries', intervalMs: 10_000, run: () => denials.flush() },
      { name: 'secret-purge', intervalMs: 60_000, run: () => secrets.purgeExpired(clock.nowMs()) },
      {
        name: 'lease-reaper',
        intervalMs: 5000,
        run: async () => {
          const report = await leases.reap();
          leasesRevokeFailed = await leases.countRevokeFailed();
          if (report.failed > 0)
            log.error(
              { failed: report.failed },
              'leases could not be revoked: see GET /v1/leases?state=revoke_failed',
            );
        },
      },
      // Due rotations, retries (with backoff) and retirements after the grace period (ADR 0011).
      { name: 'secret-rotation', intervalMs: options.rotationPollMs ?? 1000, run: () => rotation.runDue() },
      { name: 'secret-kek-rewrap', intervalMs: 30_000, run: rewrapKeys },
      {
        name: 'revocation-prune',
        intervalMs: 60_000,
        run: async () => {
          sessions.pruneRevocations();
          await uow.write((r) => r.revocations.deleteExpired(clock.nowMs()));
        },
      },
      ...delivery.jobs,
    ],
    (name, error) => log.error({ err: error, job: name }, 'background job failed'),
  );

  /** Creates the bootstrap administrator when there is none; returns its key once. */
  async function ensureAdmin(): Promise<{ accessId: string; accessKey: string | null; created: boolean }> {
    const existing = await uow.read((r) => r.authMethods.getByName(ADMIN_METHOD_NAME));
    if (existing) {
      // Only if nothing grants admin at all (a crash between creating the method and associating it):
      // an operator may have moved the administrator role to other methods since.
      const granted = await uow.read((r) => r.roles.listAssociations({ roleId: ADMIN_ROLE_ID }));
      if (existing.isAdmin && granted.length === 0)
        await roles.ensureAdminAssociation(existing.id, systemContext('bootstrap'));
      return { accessId: existing.id, accessKey: null, created: false };
    }
    const { method, accessKey } = await authMethods.create(
      { type: 'access_key', name: ADMIN_METHOD_NAME, owner: 'bootstrap', settings: {}, isAdmin: true },
      systemContext('bootstrap'),
    );
    // The administrator's rights are a role like any other (ADR 0008).
    await roles.ensureAdminAssociation(method.id, systemContext('bootstrap'));
    return { accessId: method.id, accessKey, created: true };
  }

  let closed = false;
  return {
    app,
    config,
    clock,
    store,
    uow,
    keyring,
    sessions,
    services: {
      identities,
      authMethods,
      uid,
      access,
      roles,
      authenticate,
      audit,
      secrets,
      secretKeys,
      dynamicSecrets,
      leases,
      rotation,
    },
    /** Runs the lease reaper now (the job runs it every few seconds). */
    reapLeases: () => leases.reap(),
    /** Re-wraps secret data keys under the active KEK now (the job does it every 30 s). */
    rewrapSecretKeys: rewrapKeys,
    ensureAdmin,
    syncRevocations,
    /** Checkpointing and verification of the audit ledger. */
    ledger,
    /** Audit sinks, the fail-closed gate and alerts. */
    auditDelivery: delivery,
    /** Collapsed authorization denials (their summaries are written every 10 s and at shutdown). */
    denials,
    /** Writes accumulated `lastUsedAt` updates now (the job does it every 15 s). */
    flushLastUsed: () => lastUsed.flush(uow),
    /** Graceful: in-flight requests finish, queued writes commit, the store closes. */
    async close() {
      if (closed) return;
      closed = true;
      await app!.close();
      await jobs.stop();
      await producers.close();
      await rewrapping?.catch(() => {});
      await listener.close();
      await lastUsed.flush(uow).catch(() => {});
      await denials.flush(true).catch(() => {});
      await uow.drain();
      // A last checkpoint on the way out: deleting what came after it is then detectable too.
      await ledger
        .checkpoint(clock.nowMs())
        .then((checkpoint) => checkpoint && delivery?.checkpoint(checkpoint))
        .catch((error) => app!.log.error({ err: error }, 'final audit checkpoint failed'));
      await delivery?.close();
      await store.close();
    },
  };
}

export type Tessera = Awaited<ReturnType<typeof createTessera>>;

function writeAdminFile(dataDir: string, accessId: string, accessKey: string): string {
  const path = join(dataDir, 'admin.json');
  writeFileSync(path, `${JSON.stringify({ accessId, accessKey }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Starts a server: on first start it creates the administrator and writes `admin.json` (0600). */
export async function startServer(
  config: Config,
  options: TesseraOptions = {},
): Promise<{ url: string; close(): Promise<void>; tessera: Tessera }> {
  const tessera = await createTessera(config, options);
  const admin = await tessera.ensureAdmin();
  if (admin.created && admin.accessKey) {
    const path = writeAdminFile(config.dataDir, admin.accessId, admin.accessKey);
    tessera.app.log.warn(
      { adminFile: path, accessId: admin.accessId },
      'first start: administrator credentials written (mode 0600)',
    );
  }
  const address = await tessera.app.listen({ host: config.host, port: config.port });
  tessera.app.log.info(
    { url: address, store: config.storeUrl.split(':')[0], version: VERSION },
    'tessera listening',
  );
  return { url: address, close: () => tessera.close(), tessera };
}

/** `tessera init`: prepares a data dir and store explicitly; the key is returned once, not written. */
export async function initDataDir(
  config: Config,
): Promise<{ accessId: string; accessKey: string | null; created: boolean; adminFile: string }> {
  const tessera = await createTessera(config, { logger: false });
  try {
    const admin = await tessera.ensureAdmin();
    return { ...admin, adminFile: join(config.dataDir, 'admin.json') };
  } finally {
    await tessera.close();
  }
}

/**
 * `tessera audit verify --data-dir …`: verifies the ledger of a data directory (or store) without a
 * running server, reading only; `onProgress` reports after each batch of events.
 */
export async function verifyAuditLedgerOffline(
  config: Config,
  onProgress?: (checkedEvents: number, lastSeq: number) => void,
  /** Archive files (or a directory of them): verify the whole history from genesis. */
  options: { archives?: string | readonly string[] } = {},
): Promise<LedgerReport> {
  const keyFile = join(config.dataDir, 'root.key');
  if (!config.rootKeyBase64 && !existsSync(keyFile)) {
    throw new Error(`no root key: ${keyFile} does not exist and TESSERA_ROOT_KEY is not set`);
  }
  const rootKey = rootKeyFromBase64(config.rootKeyBase64 ?? readFileSync(keyFile, 'utf8'));
  const store = openStore(config.storeUrl);
  try {
    const auditKey = await auditKeySource(store.db, rootKey);
    const ledger = createLedger({
      store,
      hasher: new ChainHasher(auditKey),
      signer: new CheckpointSigner(auditKey),
      file: new CheckpointFile(join(config.dataDir, 'audit', 'checkpoints.jsonl')),
    });
    return await ledger.verify(onProgress, options);
  } finally {
    await store.close();
  }
}

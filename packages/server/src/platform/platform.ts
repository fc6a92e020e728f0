import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { CheckpointFile, createLedger } from '../audit/audit.ledger.js';
import { startAuditDelivery } from '../audit/sinks/index.js';
import type { Config } from '../config/config.js';
import { ConfigKindRegistry } from '../core/shared/config-kinds.js';
import { createEventBus, type EventBus } from '../core/shared/events.js';
import type { Clock, OneTimeKeys } from '../core/shared/platform.port.js';
import type { UnitOfWork } from '../core/shared/unit-of-work.js';
import { createAuditHasher } from '../crypto/audit-hash.js';
import { ChainHasher, CheckpointSigner } from '../crypto/audit-ledger.js';
import { createCredentialFactory } from '../crypto/credentials.js';
import type { RootKey } from '../crypto/envelope.js';
import { Keyring } from '../crypto/keyring.js';
import { loadOrCreateRootKeyFile, rootKeyFromBase64 } from '../crypto/root-key.js';
import type { Job } from '../jobs/scheduler.js';
import { createTesseraMetrics, registerLeaderGauge } from '../monitoring/tessera-metrics.js';
import { migrate, openStore, type Store } from '../storage/database.js';
import { type Leadership, startLeaderElection } from '../storage/leader.js';
import { listenForRevocations } from '../storage/notifier.js';
import { AuthMethodCache, BUILT_IN_REPOS, ChainHead, repoFactory } from '../storage/repos/index.js';
import { createOneTimeKeyRepo } from '../storage/repos/one-time-keys.repo.js';
import { createSigningKeyStore } from '../storage/repos/signing-keys.repo.js';
import { assertRootKeyMatches, auditKeySource } from '../storage/root-sealed-keys.js';
import type { Database } from '../storage/schema.js';
import { createGroupCommitUnitOfWork, type GroupCommitUnitOfWork } from '../storage/unit-of-work.js';
import { VERSION } from '../version.js';
import { StorageRegistry } from './storage.js';

/**
 * What every capability stands on (ADR 0013): the logger, clock and configuration; the store and
 * its group-committed unit of work; the keys; the audit ledger with its sinks; metrics; and the
 * event channel between capabilities. Opened before any module is composed.
 */
export interface Platform {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: FastifyBaseLogger;
  readonly store: Store;
  readonly uow: GroupCommitUnitOfWork;
  readonly rootKey: RootKey;
  /** Session-token signing keys (JWKS). */
  readonly keyring: Keyring;
  /** Ids, bearer credentials and their keyed hashes. */
  readonly credentials: ReturnType<typeof createCredentialFactory>;
  /** Keyed hashes of values audit must refer to without holding them. */
  readonly auditHasher: ReturnType<typeof createAuditHasher>;
  readonly ledger: ReturnType<typeof createLedger>;
  readonly checkpointSigner: CheckpointSigner;
  readonly delivery: Awaited<ReturnType<typeof startAuditDelivery>>;
  readonly metrics: ReturnType<typeof createTesseraMetrics>;
  readonly events: EventBus;
  /** Where capabilities declare their tables and repositories while they are composed. */
  readonly storage: StorageRegistry;
  /** Where capabilities declare the kinds of object identity-as-code files hold (ADR 0021). */
  readonly configKinds: ConfigKindRegistry;
  /** The auth-method cache the repositories share (dropped when a transaction fails). */
  readonly methodCache: AuthMethodCache;
  /**
   * What other servers on the same PostgreSQL announce (LISTEN/NOTIFY; polling is the fallback):
   * revocations to sync, and access changes that invalidate cached decisions.
   */
  readonly cluster: {
    onRevocation(listener: () => void): void;
    onAccessChange(listener: () => void): void;
  };
  /** Whether this server runs the once-per-cluster jobs (PostgreSQL advisory lock; SQLite: always). */
  readonly leadership: Leadership;
  /** One-time values (JWT `jti`, DPoP proofs, approval grants), consumed atomically across servers. */
  readonly oneTimeKeys: OneTimeKeys;
  /** The platform's own periodic work (audit checkpoints, sink alerts). */
  readonly jobs: Job[];
  /** Applies capability migrations; called once every module is composed. */
  start(): Promise<void>;
  /** Closes what the platform opened, after the modules have closed. */
  close(): Promise<void>;
}

export interface PlatformOptions {
  clock: Clock;
  log: FastifyBaseLogger;
}

function loadRootKey(config: Config): RootKey {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  return config.rootKeyBase64
    ? rootKeyFromBase64(config.rootKeyBase64)
    : loadOrCreateRootKeyFile(join(config.dataDir, 'root.key')).key;
}

export async function openPlatform(config: Config, { clock, log }: PlatformOptions): Promise<Platform> {
  const rootKey = loadRootKey(config);
  const store = openStore(config.storeUrl);
  try {
    await migrate(store);
    await assertRootKeyMatches(store.db, rootKey);
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  // The audit keys come from the original root key, which a root-key rotation keeps sealed (ADR 0007).
  const auditKey = await auditKeySource(store.db, rootKey);
  const keyring = new Keyring(createSigningKeyStore(store.db), rootKey);
  await keyring.load();

  const auditHasher = createAuditHasher(auditKey);
  const credentials = createCredentialFactory(auditHasher);
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
  const metrics = createTesseraMetrics({
    version: VERSION,
    residentMemoryBytes: () => process.memoryUsage.rss(),
  });
  const storage = new StorageRegistry(BUILT_IN_REPOS);
  const repoState = {
    chain,
    direct: store.direct,
    methodCache,
    hasher: chainHasher,
    contributed: storage.repoMakers,
  };
  // Sinks read the committed ledger without a unit of work; the unit of work hands each committed
  // event to the sinks and asks them whether writes may go on (fail closed). One direction each.
  const makeRepos = repoFactory(store.dialect, repoState);
  const reader: Pick<UnitOfWork, 'read'> = { read: (work) => work(makeRepos(store.db, (fn) => fn())) };
  const delivery = await startAuditDelivery({
    sinks: config.auditSinks,
    alerts: config.alerts,
    uow: reader,
    clock,
    metrics,
    log,
  });
  const uow = createGroupCommitUnitOfWork(
    store,
    repoFactory(store.dialect, { ...repoState, onAppended: (event) => delivery.appended(event) }),
    {
      onCommitFailure: (error) =>
        log.error({ err: error }, 'store commit failed: requests are refused until it recovers'),
      onFlush: (seconds, outcome) => {
        metrics.commit(seconds, outcome);
        if (outcome === 'committed') delivery.committed();
      },
      // Fail closed: while every audit sink is failing, writes (each appends an event) are refused.
      gate: () => delivery.refusal(),
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
  const events = createEventBus((type, error) =>
    log.error({ err: error, event: type }, 'event reaction failed'),
  );
  const revocationListeners: Array<() => void> = [];
  const accessListeners: Array<() => void> = [];
  const listener = listenForRevocations(
    store,
    () => {
      for (const fn of revocationListeners) fn();
    },
    (error) => log.warn({ err: error }, 'revocation listener error; reconnecting'),
    () => {
      for (const fn of accessListeners) fn();
    },
  );
  const leadership = startLeaderElection(store, {
    onChange: (leader) =>
      log.info({ leader }, leader ? 'leader: running cluster jobs' : 'no longer the leader'),
    onError: (error) => log.warn({ err: error }, 'leader election: connection error; retrying'),
  });
  registerLeaderGauge(metrics.registry, () => leadership.isLeader());
  const oneTimeKeys = createOneTimeKeyRepo(store.db, clock);
  const jobs: Job[] = [
    {
      name: 'audit-checkpoint',
      // The head of the shared ledger, signed once per cluster (the final one at close is per server).
      scope: 'leader',
      intervalMs: config.auditCheckpointSeconds * 1000,
      run: async () => {
        const checkpoint = await ledger.checkpoint(clock.nowMs());
        if (checkpoint) delivery.checkpoint(checkpoint);
      },
    },
    {
      name: 'one-time-key-prune',
      scope: 'leader',
      intervalMs: 60_000,
      run: () => oneTimeKeys.pruneExpired(),
    },
    ...delivery.jobs,
  ];

  return {
    config,
    clock,
    log,
    store,
    uow,
    rootKey,
    keyring,
    credentials,
    auditHasher,
    ledger,
    checkpointSigner,
    delivery,
    metrics,
    events,
    storage,
    configKinds: new ConfigKindRegistry(),
    methodCache,
    cluster: {
      onRevocation: (fn) => void revocationListeners.push(fn),
      onAccessChange: (fn) => void accessListeners.push(fn),
    },
    leadership,
    oneTimeKeys,
    jobs,
    start: () => storage.migrate(store),
    async close() {
      await leadership.close();
      await listener.close();
      await uow.drain();
      // A last checkpoint on the way out: deleting what came after it is then detectable too.
      await ledger
        .checkpoint(clock.nowMs())
        .then((checkpoint) => checkpoint && delivery.checkpoint(checkpoint))
        .catch((error) => log.error({ err: error }, 'final audit checkpoint failed'));
      await delivery.close();
      await store.close();
    },
  };
}

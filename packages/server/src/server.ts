import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointFile, createLedger } from './audit/audit.ledger.js';
import { createApprovalsModule } from './capabilities/approvals/approvals.module.js';
import { createConfigModule } from './capabilities/config/config.module.js';
import { type ConsoleDoorOptions, consoleDoor } from './capabilities/console/console.door.js';
import { createFederationModule } from './capabilities/federation/federation.module.js';
import { createGovernanceModule } from './capabilities/governance/governance.module.js';
import { createJitModule } from './capabilities/jit/jit.module.js';
import { leakExposures } from './capabilities/leaks/leaks.exposure.js';
import { createLeaksModule } from './capabilities/leaks/leaks.module.js';
import { createMcpModule } from './capabilities/mcp/mcp.module.js';
import { oauthDoor } from './capabilities/oauth/oauth.door.js';
import { createOAuthModule } from './capabilities/oauth/oauth.module.js';
import { createPeopleModule } from './capabilities/people/people.module.js';
import { createPkiModule } from './capabilities/pki/pki.module.js';
import type { Config } from './config/config.js';
import type { LedgerReport } from './core/audit/audit.verify.js';
import { ADMIN_ROLE_ID } from './core/roles/roles.model.js';
import type { RotationOptions } from './core/rotated-secrets/rotated-secrets.service.js';
import { systemContext } from './core/shared/context.js';
import type { Clock } from './core/shared/platform.port.js';
import { ChainHasher, CheckpointSigner } from './crypto/audit-ledger.js';
import { rootKeyFromBase64 } from './crypto/root-key.js';
import { buildApp } from './http/app.js';
import { akeylessDoor } from './http/doors/akeyless.door.js';
import type { DoorAccessDeps, FrontDoor } from './http/doors/door.js';
import { nativeDoor } from './http/doors/native.door.js';
import { systemDoor } from './http/doors/system.door.js';
import { startJobs } from './jobs/scheduler.js';
import { createAccessModule } from './modules/access.module.js';
import { createAuditModule } from './modules/audit.module.js';
import { createAuthenticationModule } from './modules/authentication.module.js';
import { createDynamicSecretsModule } from './modules/dynamic-secrets.module.js';
import { createIdentitiesModule } from './modules/identities.module.js';
import { createRotatedSecretsModule } from './modules/rotated-secrets.module.js';
import { createSecretsModule } from './modules/secrets.module.js';
import { createSessionsModule } from './modules/sessions.module.js';
import { createSystemModule } from './modules/system.module.js';
import { createUidModule } from './modules/uid.module.js';
import { createLogger, type LoggerOptions } from './platform/logger.js';
import type { CapabilityModule, DoorRoutes } from './platform/module.js';
import { openPlatform, type Platform } from './platform/platform.js';
import { acquireDataDirLock } from './storage/data-dir-lock.js';
import { openStore } from './storage/database.js';
import { auditKeySource } from './storage/root-sealed-keys.js';
import { VERSION } from './version.js';

export const ADMIN_METHOD_NAME = 'tessera-admin';

export interface TesseraOptions {
  /** Injected clock (tests); defaults to the system clock. */
  clock?: Clock;
  /** Logger settings, or a logger; defaults to JSON logs at the configured level. */
  logger?: LoggerOptions;
  /** Rotated secrets: backoff and claim timings (tests shorten them). */
  rotation?: Partial<RotationOptions>;
  /** How often the rotation job looks for due work; default 1 s. */
  rotationPollMs?: number;
  /**
   * Capabilities beyond the built-in ones (an embedding product's, or a new one being developed),
   * composed after them from the platform alone; their routes join the native and system doors.
   */
  capabilities?: ReadonlyArray<(platform: Platform) => CapabilityModule>;
  /** Front doors beyond the built-in ones, mounted after them (each its own encapsulated context). */
  doors?: ReadonlyArray<(access: DoorAccessDeps) => FrontDoor>;
  /** The web console at `/ui` (where its build lives, idle sign-out). */
  console?: ConsoleDoorOptions;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/**
 * The composition root (ADR 0013): the logger and clock first, then the platform every capability
 * stands on, then the capabilities in dependency order, each built from exactly what it names;
 * then the front doors over their routes, and the jobs. A new capability is one line here.
 */
export async function createTessera(config: Config, options: TesseraOptions = {}) {
  const clock = options.clock ?? systemClock;
  const log = createLogger(options.logger, config.logLevel);
  const platform = await openPlatform(config, { clock, log });

  const sessions = createSessionsModule(platform);
  const identities = createIdentitiesModule(platform);
  const audit = createAuditModule(platform);
  const authentication = createAuthenticationModule(platform, {
    sessions: sessions.services.sessions,
    denials: audit.services.denials,
  });
  const access = createAccessModule(platform, {
    sessions: sessions.services.sessions,
    denials: audit.services.denials,
    authMethods: authentication.services.authMethods,
  });
  const uid = createUidModule(platform, {
    sessions: sessions.services.sessions,
    denials: audit.services.denials,
    ...authentication.services,
  });
  const people = createPeopleModule(platform, {
    sessions: sessions.services.sessions,
    authMethods: authentication.services.authMethods,
    roles: access.services.roles,
  });
  const approvals = createApprovalsModule(platform, {
    personOf: people.services.people.personOf,
    personIdOf: async (r, authMethodId) => (await r.people.getByAuthMethod(authMethodId))?.id ?? null,
  });
  const secrets = createSecretsModule(platform, { gate: approvals.services.secretReadGate });
  const dynamic = createDynamicSecretsModule(platform, { cipher: secrets.services.cipher });
  const rotated = createRotatedSecretsModule(platform, {
    cipher: secrets.services.cipher,
    producers: dynamic.services.producers,
    ...(options.rotation ? { options: options.rotation } : {}),
    ...(options.rotationPollMs ? { pollMs: options.rotationPollMs } : {}),
  });
  const system = createSystemModule(platform);
  const oauth = createOAuthModule(platform, {
    sessions: sessions.services.sessions,
    ...authentication.services,
    access: access.services.access,
    ciba: {
      approvals: approvals.services.approvals,
      personByHint: people.services.people.findByHint,
    },
  });
  const federation = createFederationModule(platform, { registry: authentication.services.registry });
  const governance = createGovernanceModule(platform, {
    roles: access.services.roles,
    producers: dynamic.services.producers,
    dynamicSecrets: dynamic.services.dynamicSecrets,
    rotation: rotated.services.rotation,
    leakSource: leakExposures,
    ownerDirectory: () => people.services.people.ownerDirectory(),
    personOf: people.services.people.personOf,
  });
  const jit = createJitModule(platform, {
    roles: access.services.roles,
    approvals: approvals.services.approvals,
  });
  const leaks = createLeaksModule(platform, {
    sessions: sessions.services.sessions,
    leases: dynamic.services.leases,
    rotation: rotated.services.rotation,
  });
  const mcp = createMcpModule(platform, {
    sessions: sessions.services.sessions,
    access: access.services.access,
    secrets: secrets.services.secrets,
    approvals: approvals.services.approvals,
  });
  const pki = createPkiModule(platform, { registry: authentication.services.registry });
  const extensions = (options.capabilities ?? []).map((create) => create(platform));
  // Last: it plans every kind the modules above registered (ADR 0021).
  const configAsCode = createConfigModule(platform);
  const modules: CapabilityModule[] = [
    sessions,
    identities,
    audit,
    authentication,
    access,
    uid,
    secrets,
    dynamic,
    rotated,
    system,
    oauth,
    federation,
    people,
    approvals,
    jit,
    leaks,
    mcp,
    pki,
    governance,
    ...extensions,
    configAsCode,
  ];

  try {
    await platform.start();
    for (const module of modules) await module.start?.();
  } catch (error) {
    // Nothing is serving yet: release what the platform opened (store, leader lock, listener).
    await platform.close().catch(() => {});
    throw error;
  }

  const doorAccess: DoorAccessDeps = {
    sessions: sessions.services.sessions,
    access: access.services.access,
    denials: audit.services.denials,
    authenticate: authentication.services.authenticate,
    publicBaseUrl: config.issuer.replace(/\/+$/, ''),
  };
  const app = await buildApp({
    log,
    version: VERSION,
    trustProxy: config.trustProxy,
    timeouts: config.httpTimeouts,
    newRequestId: () => platform.credentials.newId('req-', 24),
    metrics: platform.metrics,
    tls: config.tls
      ? {
          cert: readFileSync(config.tls.certFile, 'utf8'),
          key: readFileSync(config.tls.keyFile, 'utf8'),
          ca: config.tls.clientCaFile ? readFileSync(config.tls.clientCaFile, 'utf8') : null,
        }
      : null,
    doors: [
      systemDoor(doorAccess, routesOf(modules, 'system')),
      nativeDoor(doorAccess, routesOf(modules, 'native')),
      akeylessDoor(doorAccess, {
        ...authentication.services,
        ...access.services,
        sessions: sessions.services.sessions,
        uid: uid.services.uid,
        secrets: secrets.services.secrets,
        dynamicSecrets: dynamic.services.dynamicSecrets,
        leases: dynamic.services.leases,
        nowMs: () => clock.nowMs(),
      }),
      oauthDoor(doorAccess, oauth.services.oauth, oauth.services.registration),
      mcp.door(doorAccess),
      consoleDoor(doorAccess, { nowMs: () => clock.nowMs(), ...options.console }),
      ...(options.doors ?? []).map((door) => door(doorAccess)),
    ],
  });
  const jobs = startJobs(
    [...platform.jobs, ...modules.flatMap((m) => m.jobs ?? [])],
    (name, error) => log.error({ err: error, job: name }, 'background job failed'),
    { isLeader: () => platform.leadership.isLeader() },
  );

  const { authMethods } = authentication.services;
  const { roles } = access.services;
  /** Creates the bootstrap administrator when there is none; returns its key once. */
  async function ensureAdmin(): Promise<{ accessId: string; accessKey: string | null; created: boolean }> {
    const existing = await platform.uow.read((r) => r.authMethods.getByName(ADMIN_METHOD_NAME));
    if (existing) {
      // Only if nothing grants admin at all (a crash between creating the method and associating it):
      // an operator may have moved the administrator role to other methods since.
      const granted = await platform.uow.read((r) => r.roles.listAssociations({ roleId: ADMIN_ROLE_ID }));
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
    configAsCode,
    clock,
    store: platform.store,
    uow: platform.uow,
    keyring: platform.keyring,
    sessions: sessions.services.sessions,
    services: {
      ...identities.services,
      ...authentication.services,
      ...uid.services,
      ...access.services,
      ...audit.services,
      ...secrets.services,
      ...dynamic.services,
      ...rotated.services,
      ...approvals.services,
      ...people.services,
      ...jit.services,
      ...governance.services,
    },
    /** Runs the lease reaper now (the job runs it every few seconds). */
    reapLeases: () => dynamic.services.leases.reap(),
    /** Re-wraps secret data keys under the active KEK now (the job does it every 30 s). */
    rewrapSecretKeys: secrets.services.rewrapKeys,
    /** Every capability by name, as composed (introspection; embedding products' capabilities too). */
    modules: Object.fromEntries(modules.map((m) => [m.name, m])) as Readonly<
      Record<string, CapabilityModule>
    >,
    /** Whether this server runs the once-per-cluster jobs (storage/leader.ts). */
    leadership: platform.leadership,
    /** One-time values (JWT `jti`, DPoP proofs, approval grants), atomic across servers. */
    oneTimeKeys: platform.oneTimeKeys,
    ensureAdmin,
    syncRevocations: sessions.services.syncRevocations,
    /** Checkpointing and verification of the audit ledger. */
    ledger: platform.ledger,
    /** Audit sinks, the fail-closed gate and alerts. */
    auditDelivery: platform.delivery,
    /** Collapsed authorization denials (their summaries are written every 10 s and at shutdown). */
    denials: audit.services.denials,
    /** Writes accumulated `lastUsedAt` updates now (the job does it every 15 s). */
    flushLastUsed: () => authentication.services.lastUsed.flush(platform.uow),
    /** Graceful: in-flight requests finish, jobs stop, modules close in reverse order, writes commit. */
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await jobs.stop();
      for (const module of [...modules].reverse()) await module.close?.();
      await platform.close();
    },
  };
}

/** The routes the modules contribute to one door, in composition order. */
function routesOf(modules: readonly CapabilityModule[], door: keyof DoorRoutes) {
  return modules.flatMap((m) => (m.routes?.[door] ? [m.routes[door]] : []));
}

export type Tessera = Awaited<ReturnType<typeof createTessera>>;

function writeAdminFile(dataDir: string, accessId: string, accessKey: string): string {
  const path = join(dataDir, 'admin.json');
  writeFileSync(path, `${JSON.stringify({ accessId, accessKey }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Starts a server: on first start it creates the administrator and writes `admin.json` (0600). */
export async function startServer(config: Config, options: TesseraOptions = {}) {
  // Offline commands refuse while it is held; servers of one PostgreSQL store may share a data dir.
  const shared = config.storeUrl.startsWith('postgres');
  const unlock = acquireDataDirLock(config.dataDir, 'server', shared ? 'shared' : 'exclusive');
  const running = await startUnlocked(config, options).catch((error: unknown) => {
    unlock();
    throw error;
  });
  return { ...running, close: () => running.close().finally(unlock) };
}

async function startUnlocked(
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
  for (const warning of config.warnings) tessera.app.log.warn(warning);
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
  const unlock = acquireDataDirLock(config.dataDir, 'init');
  try {
    const tessera = await createTessera(config, { logger: false });
    try {
      const admin = await tessera.ensureAdmin();
      return { ...admin, adminFile: join(config.dataDir, 'admin.json') };
    } finally {
      await tessera.close();
    }
  } finally {
    unlock();
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

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Config, loadConfig } from '../src/config/config.js';
import type { Clock } from '../src/core/shared/platform.port.js';
import { createTessera, type Tessera, type TesseraOptions } from '../src/server.js';

/** A clock tests move by hand. */
export class TestClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 22, 12, 0, 0)) {}
  nowMs() {
    return this.ms;
  }
  advance(seconds: number) {
    this.ms += seconds * 1000;
  }
}

export type StoreKind = 'sqlite' | 'postgres';

/** Which stores the conformance suites run against: both, unless TESSERA_TEST_STORES narrows it. */
export const STORES: StoreKind[] = (process.env.TESSERA_TEST_STORES?.split(',') as
  | StoreKind[]
  | undefined) ?? ['sqlite', 'postgres'];

const PG_ADMIN_URL = process.env.TESSERA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a fresh PostgreSQL database for one test file; returns its URL and a dropper. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      // Give the closed server's pool a moment to finish closing its connections: a forced drop
      // would terminate them mid-close and surface as errors in whichever test runs next.
      for (let attempt = 0; ; attempt++) {
        try {
          await c.query(`drop database if exists ${name}`);
          break;
        } catch (error) {
          if (attempt >= 40) {
            await c.query(`drop database if exists ${name} with (force)`);
            break;
          }
          if ((error as { code?: string }).code !== '55006') throw error; // object in use
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await c.end();
    },
  };
}

export interface TestServer {
  tessera: Tessera;
  clock: TestClock;
  config: Config;
  dataDir: string;
  adminToken: string;
  adminAccessId: string;
  adminAccessKey: string;
  /** JSON request through `app.inject`, returning status and parsed body. */
  call(
    method: string,
    url: string,
    opts?: {
      token?: string;
      body?: unknown;
      headers?: Record<string, string>;
      /** The request's source address (default 127.0.0.1), for CIDR-bound methods and rules. */
      remoteAddress?: string;
    },
  ): Promise<{ status: number; body: any; headers: Record<string, string | string[] | number | undefined> }>;
  /** A credential that reached the test some other way (an external client): checked on close too. */
  track(credential: string): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Share an existing store (e.g. a second server on one PostgreSQL database); the caller drops it. */
  storeUrl?: string;
  /** The administrator's key when the store already has one (`ensureAdmin` only returns it once). */
  adminAccessKey?: string;
  /** Fastify/pino logger options; logging is off by default. */
  logger?: TesseraOptions['logger'];
  /** Other options of the server (rotation timings…). */
  tessera?: Omit<TesseraOptions, 'clock' | 'logger'>;
}

/** Boots a Tessera on a fresh store with a test clock, and signs in the administrator. */
export async function startTestServer(
  kind: StoreKind = 'sqlite',
  env: Record<string, string> = {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const pgDb = kind === 'postgres' && !options.storeUrl ? await freshPostgresDatabase() : null;
  const storeUrl = options.storeUrl ?? pgDb?.url;
  const config = loadConfig(
    { dataDir, port: 0, logLevel: 'silent', ...(storeUrl ? { storeUrl } : {}) },
    {
      TESSERA_ISSUER: 'http://tessera.test',
      TESSERA_REVOCATION_POLL_MS: '50',
      // Tests serve jwks_uri and CIBA ping endpoints on 127.0.0.1: allowed explicitly (ADR 0039).
      TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8,::1',
      ...env,
    },
  );
  const clock = new TestClock();
  // Unless a test brings its own logger, logs are captured: on close every log line and every audit
  // event of this server is checked for the credentials that passed through it (DESIGN §6).
  const logLines: string[] = [];
  const logger = options.logger ?? {
    level: 'info',
    stream: { write: (line: string) => void logLines.push(line) },
  };
  const tessera = await createTessera(config, { ...options.tessera, clock, logger });
  const secrets = new Set<string>();
  const collect = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (
        typeof v === 'string' &&
        ['token', 'accessKey', 'uidToken', 'newToken', 'password', 'adminPassword'].includes(key) &&
        v.length >= 16
      )
        secrets.add(v);
    }
  };
  const created = await tessera.ensureAdmin();
  const admin = { ...created, accessKey: created.accessKey ?? options.adminAccessKey ?? null };
  const call: TestServer['call'] = async (method, url, opts = {}) => {
    if (opts.token && opts.token.length >= 16) secrets.add(opts.token);
    if (typeof opts.body === 'object') collect(opts.body);
    const res = await tessera.app.inject({
      method: method as 'GET',
      url,
      ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined
        ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
        : {}),
    });
    let body: unknown = res.body;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {}
    collect(body);
    return { status: res.statusCode, body, headers: res.headers };
  };
  const auth = await call('POST', '/v1/auth', {
    body: { accessType: 'access_key', accessId: admin.accessId, accessKey: admin.accessKey },
  });
  if (auth.status !== 200) throw new Error(`admin sign-in failed: ${JSON.stringify(auth.body)}`);
  return {
    tessera,
    clock,
    config,
    dataDir,
    adminToken: auth.body.token,
    adminAccessId: admin.accessId,
    adminAccessKey: admin.accessKey!,
    call,
    track(credential) {
      if (credential.length >= 16) secrets.add(credential);
    },
    async close() {
      const events = JSON.stringify(await tessera.store.db.selectFrom('audit_events').selectAll().execute());
      try {
        await tessera.close();
      } finally {
        await pgDb?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
      const logs = logLines.join('');
      for (const secret of secrets) {
        const bare = secret.startsWith('t-') ? secret.slice(2) : secret;
        if (events.includes(bare))
          throw new Error(`a credential (${bare.slice(0, 6)}…) is in the audit ledger`);
        if (logs.includes(bare)) throw new Error(`a credential (${bare.slice(0, 6)}…) is in the logs`);
      }
    },
  };
}

/** Two servers sharing one PostgreSQL database (`startServerPair`). */
export interface ServerPair {
  a: TestServer;
  b: TestServer;
  /** Their database, for a third server or a direct connection. */
  storeUrl: string;
  /** Stops both servers and drops their database. */
  close(): Promise<void>;
}

/**
 * Two servers on one fresh PostgreSQL database, as a cluster runs them (DESIGN §2): one root key,
 * one administrator, `env` for both.
 */
export async function startServerPair(env: Record<string, string> = {}): Promise<ServerPair> {
  const db = await freshPostgresDatabase();
  const shared = { TESSERA_ROOT_KEY: randomBytes(32).toString('base64'), ...env };
  let a: TestServer | null = null;
  let b: TestServer | null = null;
  const close = async () => {
    await a?.close();
    await b?.close();
    await db.drop();
  };
  try {
    a = await startTestServer('postgres', shared, { storeUrl: db.url });
    b = await startTestServer('postgres', shared, { storeUrl: db.url, adminAccessKey: a.adminAccessKey });
  } catch (error) {
    await close();
    throw error;
  }
  return { a, b, storeUrl: db.url, close };
}

/** Creates a UID method and a root token; returns both. */
export async function uidSetup(
  s: TestServer,
  settings: Record<string, unknown> = {},
  name = `/test/uid-${Math.random().toString(36).slice(2, 8)}`,
) {
  const m = await s.call('POST', '/v1/auth-methods', {
    token: s.adminToken,
    body: { type: 'universal_identity', name, ...settings },
  });
  if (m.status !== 201) throw new Error(`create method: ${JSON.stringify(m.body)}`);
  const g = await s.call('POST', '/v1/uid/tokens', { token: s.adminToken, body: { authMethodName: name } });
  if (g.status !== 201) throw new Error(`generate: ${JSON.stringify(g.body)}`);
  return {
    method: m.body.authMethod,
    methodName: name,
    root: g.body as { token: string; tokenId: string; expiresAt: string },
  };
}

export const uidAuth = (s: TestServer, uidToken: string) =>
  s.call('POST', '/v1/auth', { body: { accessType: 'universal_identity', uidToken } });

/** A fresh administrator session token (the start-up one expires once the test clock passes its TTL). */
export async function adminSession(s: TestServer): Promise<string> {
  const auth = await s.call('POST', '/v1/auth', {
    body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
  });
  if (auth.status !== 200) throw new Error(`admin sign-in failed: ${JSON.stringify(auth.body)}`);
  return auth.body.token;
}

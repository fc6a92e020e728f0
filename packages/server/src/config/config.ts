import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseOutboundAllow } from '../core/shared/outbound.js';
import {
  type AlertsConfig,
  type AuditSinksConfig,
  loadAlertsConfig,
  loadAuditSinksConfig,
} from './audit.config.js';
import { type GovernanceConfig, loadGovernanceConfig } from './governance.config.js';
import { type HumansConfig, loadHumansConfig } from './humans.config.js';

/** The one validated configuration object. Only this module reads the environment (DESIGN §4.8). */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite:<file>` or `postgres://…`. */
  storeUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `iss` of session tokens. */
  issuer: string;
  /** `aud` of session tokens; tokens for another audience are refused. */
  audience: string;
  /** Root key (base64, 32 bytes) given directly; otherwise `<dataDir>/root.key` is used or created. */
  rootKeyBase64: string | null;
  /**
   * Start sealed (`--sealed` / `TESSERA_SEALED=true`): wait for k-of-n root-key shares on
   * `POST /v1/sys/unseal` (ADR 0012). Without a key file and key, an existing store starts sealed anyway.
   */
  sealed: boolean;
  maxSessionTtlSeconds: number;
  signingKeyRotationSeconds: number;
  /** Failed credential presentations allowed per source address per window. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  /** Access tokens issued per OAuth client per window at the token endpoint (0: no cap). */
  oauthClientTokenLimit: number;
  oauthClientTokenWindowSeconds: number;
  /** How often to pick up revocations made by other servers. */
  revocationPollMs: number;
  /** How often the audit chain head is signed and written to the checkpoint file. */
  auditCheckpointSeconds: number;
  /** Trust `X-Forwarded-For` from a reverse proxy for the source address. */
  trustProxy: boolean;
  /**
   * CIDRs Tessera may connect to although loopback, private, link-local or reserved, when it
   * fetches a URL a client chose (`TESSERA_OUTBOUND_ALLOW`, ADR 0039). Empty: none.
   */
  outboundAllow: string[];
  /** `GET /metrics` without a credential (for a Prometheus scraper); otherwise `read` on `audit:/metrics`. */
  metricsPublic: boolean;
  /** Audit sinks and the ledger size bound (config/audit.config.ts). */
  auditSinks: AuditSinksConfig;
  alerts: AlertsConfig;
  /** People, approvals and single sign-on (issue 14, config/humans.config.ts). */
  humans: HumansConfig;
  /** Anomaly thresholds set in the environment (`TESSERA_ANOMALY_*`, config/governance.config.ts). */
  governance: GovernanceConfig;
  /**
   * Production mode (`TESSERA_ENV=production` or `--production`): the development defaults below are
   * refused at start instead of warned about.
   */
  /** HTTP server timeouts: slow or idle connections are dropped. */
  httpTimeouts: HttpTimeouts;
  production: boolean;
  /**
   * Serve HTTPS (`--tls-cert`/`--tls-key`, env TESSERA_TLS_CERT/TESSERA_TLS_KEY): client
   * certificates are requested but optional (mTLS for the `certificate` auth method and RFC 8705);
   * `clientCaFile` (`--tls-client-ca`) lists the CAs whose client certificates the listener trusts.
   * Null: plain HTTP (the development default).
   */
  tls: TlsConfig | null;
  /** Development defaults in use (see {@link productionProblems}): the server logs each once at start. */
  warnings: readonly string[];
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  clientCaFile: string | null;
}

/** HTTP server timeouts, in ms (Fastify / node:http; 0 disables one). */
export interface HttpTimeouts {
  /** Receiving a request's headers (node `headersTimeout`): the slow-headers (slowloris) guard. */
  headersMs: number;
  /** Receiving a whole request, headers and body (`requestTimeout`). */
  requestMs: number;
  /** An idle keep-alive connection between requests (`keepAliveTimeout`). */
  keepAliveMs: number;
  /** A socket with no activity at all (`connectionTimeout`). */
  connectionMs: number;
}

export interface ConfigOverrides {
  port?: number | string | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
  storeUrl?: string | undefined;
  logLevel?: string | undefined;
  /** `--production`: as `TESSERA_ENV=production`; `false` overrides the environment (`tessera init`). */
  production?: boolean | undefined;
  sealed?: boolean | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsClientCa?: string | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function integer(
  name: string,
  raw: string | number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `${name} must be an integer between ${min} and ${max} (got "${String(raw).slice(0, 40)}")`,
    );
  }
  return value;
}

function loadHttpTimeouts(env: NodeJS.ProcessEnv): HttpTimeouts {
  const ms = (name: string, fallback: number) => integer(name, env[name], fallback, 0, 3_600_000);
  const timeouts = {
    headersMs: ms('TESSERA_HTTP_HEADERS_TIMEOUT_MS', 10_000),
    requestMs: ms('TESSERA_HTTP_REQUEST_TIMEOUT_MS', 30_000),
    // Above the usual load balancers' idle timeout (60 s), so they close first.
    keepAliveMs: ms('TESSERA_HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000),
    connectionMs: ms('TESSERA_HTTP_CONNECTION_TIMEOUT_MS', 120_000),
  };
  if (timeouts.requestMs > 0 && (timeouts.headersMs === 0 || timeouts.headersMs > timeouts.requestMs))
    throw new Error('TESSERA_HTTP_HEADERS_TIMEOUT_MS must be at most TESSERA_HTTP_REQUEST_TIMEOUT_MS');
  return timeouts;
}

function loadTls(overrides: ConfigOverrides, env: NodeJS.ProcessEnv): TlsConfig | null {
  const cert = overrides.tlsCert ?? (env.TESSERA_TLS_CERT?.trim() || undefined);
  const key = overrides.tlsKey ?? (env.TESSERA_TLS_KEY?.trim() || undefined);
  const clientCa = overrides.tlsClientCa ?? (env.TESSERA_TLS_CLIENT_CA?.trim() || undefined);
  if (!cert && !key) {
    if (clientCa) throw new Error('--tls-client-ca needs --tls-cert and --tls-key');
    return null;
  }
  if (!cert || !key)
    throw new Error('TLS needs both --tls-cert and --tls-key (TESSERA_TLS_CERT, TESSERA_TLS_KEY)');
  for (const file of [cert, key, clientCa])
    if (file && !existsSync(resolve(file))) throw new Error(`TLS file ${file} does not exist`);
  return {
    certFile: resolve(cert),
    keyFile: resolve(key),
    clientCaFile: clientCa ? resolve(clientCa) : null,
  };
}

/**
 * Builds the configuration from explicit overrides (command-line flags) over environment variables
 * over defaults, and validates it. Throws an Error naming the bad setting.
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const port = integer('port (--port / TESSERA_PORT)', overrides.port ?? env.TESSERA_PORT, 8377, 0, 65535);
  const host = overrides.host ?? env.TESSERA_HOST ?? '127.0.0.1';
  const dataDir = resolve(overrides.dataDir ?? env.TESSERA_DATA_DIR ?? '.tessera');
  const storeUrl = overrides.storeUrl ?? env.TESSERA_STORE_URL ?? `sqlite:${resolve(dataDir, 'tessera.db')}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(storeUrl)) {
    throw new Error('store URL (--store / TESSERA_STORE_URL) must start with sqlite: or postgres://');
  }
  const logLevel = (overrides.logLevel ?? env.TESSERA_LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}`);
  const mode = env.TESSERA_ENV?.trim() || 'development';
  if (mode !== 'production' && mode !== 'development')
    throw new Error('TESSERA_ENV must be production or development');
  const production = overrides.production ?? mode === 'production';
  const rootKeyBase64 = env.TESSERA_ROOT_KEY?.trim() || null;
  if (rootKeyBase64 !== null && Buffer.from(rootKeyBase64, 'base64').length !== 32) {
    throw new Error('TESSERA_ROOT_KEY must be 32 bytes, base64-encoded');
  }
  const tls = loadTls(overrides, env);
  const displayHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const issuerSetting = env.TESSERA_ISSUER?.trim() || null;
  const issuer =
    issuerSetting ??
    `${tls ? 'https' : 'http'}://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}`;
  const config: Omit<Config, 'warnings'> = {
    host,
    port,
    dataDir,
    storeUrl,
    logLevel,
    issuer,
    audience: env.TESSERA_AUDIENCE ?? 'tessera',
    rootKeyBase64,
    sealed: overrides.sealed ?? env.TESSERA_SEALED === 'true',
    maxSessionTtlSeconds: integer(
      'TESSERA_MAX_SESSION_TTL_SECONDS',
      env.TESSERA_MAX_SESSION_TTL_SECONDS,
      86_400,
      60,
      7 * 86_400,
    ),
    signingKeyRotationSeconds: integer(
      'TESSERA_SIGNING_KEY_ROTATION_SECONDS',
      env.TESSERA_SIGNING_KEY_ROTATION_SECONDS,
      30 * 86_400,
      60,
      365 * 86_400,
    ),
    authFailureLimit: integer('TESSERA_AUTH_FAILURE_LIMIT', env.TESSERA_AUTH_FAILURE_LIMIT, 20, 1, 1_000_000),
    authFailureWindowSeconds: integer(
      'TESSERA_AUTH_FAILURE_WINDOW_SECONDS',
      env.TESSERA_AUTH_FAILURE_WINDOW_SECONDS,
      60,
      1,
      86_400,
    ),
    oauthClientTokenLimit: integer(
      'TESSERA_OAUTH_CLIENT_TOKEN_LIMIT',
      env.TESSERA_OAUTH_CLIENT_TOKEN_LIMIT,
      0,
      0,
      100_000_000,
    ),
    oauthClientTokenWindowSeconds: integer(
      'TESSERA_OAUTH_CLIENT_TOKEN_WINDOW_SECONDS',
      env.TESSERA_OAUTH_CLIENT_TOKEN_WINDOW_SECONDS,
      60,
      1,
      86_400,
    ),
    revocationPollMs: integer('TESSERA_REVOCATION_POLL_MS', env.TESSERA_REVOCATION_POLL_MS, 250, 10, 60_000),
    auditCheckpointSeconds: integer(
      'TESSERA_AUDIT_CHECKPOINT_SECONDS',
      env.TESSERA_AUDIT_CHECKPOINT_SECONDS,
      60,
      1,
      86_400,
    ),
    trustProxy: env.TESSERA_TRUST_PROXY === 'true',
    outboundAllow: parseOutboundAllow(env.TESSERA_OUTBOUND_ALLOW),
    metricsPublic: env.TESSERA_METRICS_PUBLIC === 'true',
    auditSinks: loadAuditSinksConfig(env, dataDir, integer),
    alerts: loadAlertsConfig(env, integer),
    humans: loadHumansConfig(env, integer, issuer),
    governance: loadGovernanceConfig(env, integer),
    httpTimeouts: loadHttpTimeouts(env),
    production,
    tls,
  };
  const problems = productionProblems(config, {
    issuerIsDefault: issuerSetting === null,
    // Sealed: the key arrives as shares at start (ADR 0012), it is never created.
    rootKeyFileExists: rootKeyBase64 !== null || config.sealed || existsSync(resolve(dataDir, 'root.key')),
  });
  if (production && problems.length > 0)
    throw new Error(
      `production mode (TESSERA_ENV=production or --production) refuses to start:\n- ${problems.join('\n- ')}`,
    );
  return { ...config, warnings: problems.map((p) => `development default (refused in production): ${p}`) };
}

/**
 * What production mode refuses (issue 11): each a development default that is unsafe in production,
 * with what to do instead. In development the same list is logged once, as warnings.
 */
export function productionProblems(
  config: Omit<Config, 'warnings'>,
  facts: { issuerIsDefault: boolean; rootKeyFileExists: boolean },
): string[] {
  const problems: string[] = [];
  if (!facts.rootKeyFileExists)
    problems.push(
      `the root key would be created at start in ${resolve(config.dataDir, 'root.key')}, next to the data ` +
        'it protects: set TESSERA_ROOT_KEY (base64 of 32 random bytes) or provision that file beforehand (`tessera init` creates it)',
    );
  if (facts.issuerIsDefault)
    problems.push(
      `the token issuer is the default ${config.issuer}: set TESSERA_ISSUER to the https:// URL clients reach this server at`,
    );
  else if (!config.issuer.startsWith('https://'))
    problems.push(`the token issuer ${config.issuer} is not an https:// URL: set TESSERA_ISSUER to one`);
  const sinks = config.auditSinks;
  if (!sinks.file && !sinks.syslog && !sinks.webhook)
    problems.push(
      'no audit sink (TESSERA_AUDIT_FILE=off and neither TESSERA_AUDIT_SYSLOG nor TESSERA_AUDIT_WEBHOOK_URL): ' +
        'events would exist only in the store they describe; configure at least one sink',
    );
  return problems;
}

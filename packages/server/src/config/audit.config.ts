import { resolve } from 'node:path';

/** Where audit events are copied (DESIGN §3 "Sinks"), and how delivery is retried. */
export interface AuditSinksConfig {
  /** JSON-lines file, or null (`TESSERA_AUDIT_FILE=off`). */
  file: { path: string; maxBytes: number; keep: number } | null;
  syslog: { transport: 'udp' | 'tcp'; host: string; port: number; facility: number; appName: string } | null;
  webhook: { url: string; maxQueue: number; batchSize: number } | null;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Ledger size bound in events; an alert fires at 90 %. 0: unbounded. */
  maxEvents: number;
}

/** Alert rules and their delivery (issue 4, "Monitoring and alerts"). */
export interface AlertsConfig {
  /** Slack-compatible incoming webhook; null: alerts are only logged and counted. */
  webhookUrl: string | null;
  /** Failed authentications for one identity or source address within the window that raise an alert. */
  authFailureBurst: number;
  authFailureWindowSeconds: number;
  /** The same alert for the same subject at most once per window. */
  dedupeSeconds: number;
  /** Near expiry: within this percentage of the TTL of expiring, with no rotation for half the TTL. */
  expiryPercent: number;
  expiryScanSeconds: number;
  retryInitialMs: number;
  /** Unusual UID child creation: this many children of one node within the window is a burst. */
  uidChildBurst: number;
  uidChildBurstWindowSeconds: number;
}

export type Int = (
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
) => number;

export function httpUrl(name: string, raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error(`${name} must be an http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${name} must be an http(s) URL`);
  return url.toString();
}

function syslogTarget(raw: string): { transport: 'udp' | 'tcp'; host: string; port: number } {
  const match = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})$/.exec(raw.trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new Error('TESSERA_AUDIT_SYSLOG must be udp://host:port or tcp://host:port');
  }
  return { transport: match[1] as 'udp' | 'tcp', host: match[2]!.replace(/^\[|\]$/g, ''), port };
}

export function loadAuditSinksConfig(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  integer: Int,
): AuditSinksConfig {
  const fileSetting = env.TESSERA_AUDIT_FILE?.trim();
  const file =
    fileSetting === 'off'
      ? null
      : {
          path: resolve(fileSetting || resolve(dataDir, 'audit', 'events.jsonl')),
          maxBytes: integer(
            'TESSERA_AUDIT_FILE_MAX_BYTES',
            env.TESSERA_AUDIT_FILE_MAX_BYTES,
            100 * 2 ** 20,
            1024,
            2 ** 40,
          ),
          keep: integer('TESSERA_AUDIT_FILE_KEEP', env.TESSERA_AUDIT_FILE_KEEP, 10, 0, 1000),
        };
  const syslog = env.TESSERA_AUDIT_SYSLOG?.trim()
    ? {
        ...syslogTarget(env.TESSERA_AUDIT_SYSLOG),
        facility: integer('TESSERA_AUDIT_SYSLOG_FACILITY', env.TESSERA_AUDIT_SYSLOG_FACILITY, 13, 0, 23),
        appName:
          (env.TESSERA_AUDIT_SYSLOG_APP_NAME ?? 'tessera').replace(/[^\x21-\x7e]/g, '').slice(0, 48) ||
          'tessera',
      }
    : null;
  const webhookUrl = httpUrl('TESSERA_AUDIT_WEBHOOK_URL', env.TESSERA_AUDIT_WEBHOOK_URL);
  const webhook = webhookUrl
    ? {
        url: webhookUrl,
        maxQueue: integer(
          'TESSERA_AUDIT_WEBHOOK_MAX_QUEUE',
          env.TESSERA_AUDIT_WEBHOOK_MAX_QUEUE,
          10_000,
          1,
          10_000_000,
        ),
        batchSize: integer('TESSERA_AUDIT_WEBHOOK_BATCH', env.TESSERA_AUDIT_WEBHOOK_BATCH, 100, 1, 10_000),
      }
    : null;
  return {
    file,
    syslog,
    webhook,
    retryInitialMs: integer('TESSERA_AUDIT_SINK_RETRY_MS', env.TESSERA_AUDIT_SINK_RETRY_MS, 500, 1, 60_000),
    retryMaxMs: integer(
      'TESSERA_AUDIT_SINK_RETRY_MAX_MS',
      env.TESSERA_AUDIT_SINK_RETRY_MAX_MS,
      30_000,
      1,
      3_600_000,
    ),
    maxEvents: integer(
      'TESSERA_AUDIT_MAX_EVENTS',
      env.TESSERA_AUDIT_MAX_EVENTS,
      0,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
  };
}

export function loadAlertsConfig(env: NodeJS.ProcessEnv, integer: Int): AlertsConfig {
  return {
    webhookUrl: httpUrl('TESSERA_ALERT_WEBHOOK_URL', env.TESSERA_ALERT_WEBHOOK_URL),
    authFailureBurst: integer(
      'TESSERA_ALERT_AUTH_FAILURES',
      env.TESSERA_ALERT_AUTH_FAILURES,
      10,
      1,
      1_000_000,
    ),
    authFailureWindowSeconds: integer(
      'TESSERA_ALERT_AUTH_FAILURE_WINDOW_SECONDS',
      env.TESSERA_ALERT_AUTH_FAILURE_WINDOW_SECONDS,
      60,
      1,
      86_400,
    ),
    dedupeSeconds: integer(
      'TESSERA_ALERT_DEDUPE_SECONDS',
      env.TESSERA_ALERT_DEDUPE_SECONDS,
      900,
      0,
      7 * 86_400,
    ),
    expiryPercent: integer('TESSERA_ALERT_EXPIRY_PERCENT', env.TESSERA_ALERT_EXPIRY_PERCENT, 10, 1, 99),
    expiryScanSeconds: integer(
      'TESSERA_ALERT_EXPIRY_SCAN_SECONDS',
      env.TESSERA_ALERT_EXPIRY_SCAN_SECONDS,
      300,
      1,
      86_400,
    ),
    retryInitialMs: integer('TESSERA_ALERT_RETRY_MS', env.TESSERA_ALERT_RETRY_MS, 1_000, 1, 60_000),
    uidChildBurst: integer(
      'TESSERA_ALERT_UID_CHILD_BURST',
      env.TESSERA_ALERT_UID_CHILD_BURST,
      5,
      1,
      1_000_000,
    ),
    uidChildBurstWindowSeconds: integer(
      'TESSERA_ALERT_UID_CHILD_BURST_WINDOW_SECONDS',
      env.TESSERA_ALERT_UID_CHILD_BURST_WINDOW_SECONDS,
      600,
      1,
      86_400,
    ),
  };
}

import { describeFailure } from '../core/dynamic/dynamic.errors.js';
import {
  AccountDisabledError,
  TargetError,
  type TargetFailureReason,
} from '../core/dynamic/producer.port.js';
import { TesseraError } from '../core/shared/errors.js';

/**
 * Classifies a driver's error (pg, mysql2, node-redis, sockets) into a `TargetError` with a stable
 * reason and a safe message (issue 10): what an administrator needs (authentication failed,
 * permission denied for what, host unreachable, timeout, database missing) and never a password.
 */

export { AccountDisabledError };

const NETWORK = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);
const PG_REASONS: Record<string, TargetFailureReason> = {
  '28P01': 'authentication_failed',
  '28000': 'authentication_failed',
  '42501': 'permission_denied',
  '3D000': 'database_not_found',
  '57014': 'timeout',
  '42704': 'account_missing',
  '42710': 'account_exists',
};
const MYSQL_REASONS: Record<number, TargetFailureReason> = {
  1045: 'authentication_failed',
  1698: 'authentication_failed',
  1044: 'permission_denied',
  1142: 'permission_denied',
  1143: 'permission_denied',
  1227: 'permission_denied',
  1370: 'permission_denied',
  1410: 'permission_denied',
  1049: 'database_not_found',
  1396: 'account_exists',
};

function reasonOf(error: unknown): { reason: TargetFailureReason; detail?: string } {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (NETWORK.has(code)) return { reason: 'unreachable', detail: code };
  if (code === 'ETIMEDOUT' || e.name === 'ConnectionTimeoutError' || /timeout|timed out/i.test(message))
    return { reason: 'timeout' };
  if (PG_REASONS[code]) return { reason: PG_REASONS[code]! };
  if (typeof e.errno === 'number' && MYSQL_REASONS[e.errno]) return { reason: MYSQL_REASONS[e.errno]! };
  if (/^(WRONGPASS|NOAUTH)\b/.test(message)) return { reason: 'authentication_failed' };
  if (/^NOPERM\b/.test(message)) return { reason: 'permission_denied' };
  if (/does not exist on the target/.test(message)) return { reason: 'account_missing' };
  if (/already exists on the target/.test(message)) return { reason: 'account_exists' };
  return { reason: 'target_error' };
}

/**
 * The driver's first line, scrubbed — only for the reasons where it names what was refused
 * ("permission denied for schema app"); other driver texts may echo statements and stay internal.
 * Quoted text and the given secrets are cut out; bounded.
 */
function scrub(error: unknown, secrets: readonly string[]): string {
  let text = describeFailure(error);
  for (const secret of secrets) if (secret.length >= 4) text = text.split(secret).join('…');
  return text.slice(0, 200);
}

const PUBLIC: Record<TargetFailureReason, string> = {
  authentication_failed: 'authentication failed for the administrator account',
  permission_denied: 'permission denied',
  unreachable: 'host unreachable',
  timeout: 'the target did not answer in time',
  database_not_found: 'the database does not exist',
  account_missing: 'the account does not exist on the target',
  account_exists: 'the account already exists on the target',
  target_error: 'the target failed the operation',
};

/**
 * A `TargetError` for anything a producer's driver threw. Tessera's own errors (validation) and
 * already-classified ones pass through unchanged. `secrets`: values to cut out of the message.
 */
export function classifyTargetError(error: unknown, secrets: readonly string[] = []): Error {
  if (error instanceof TargetError || error instanceof TesseraError || error instanceof AccountDisabledError)
    return error;
  const { reason, detail } = reasonOf(error);
  const base = PUBLIC[reason];
  const message =
    reason === 'permission_denied' || reason === 'account_missing' || reason === 'account_exists'
      ? `${base}: ${scrub(error, secrets)}`
      : detail
        ? `${base} (${detail})`
        : base;
  return new TargetError(reason, message);
}

/** Runs a producer operation and classifies what it throws. */
export async function classified<T>(secrets: readonly string[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw classifyTargetError(error, secrets);
  }
}

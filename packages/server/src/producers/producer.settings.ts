import type { ProducerSettings } from '../core/dynamic/producer.port.js';
import { validationError } from '../core/shared/errors.js';

/**
 * Validation shared by the producers (no I/O). Every string is length-bounded; account names are
 * restricted to a character set that needs no quoting on any target, so templates stay safe even
 * before the driver's own escaping.
 */
export const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export function assertAccountName(username: string, maxLength = 64): void {
  if (!ACCOUNT_NAME.test(username) || username.length > maxLength)
    throw validationError(`Account names are 1–${maxLength} characters of letters, digits, _ . -.`, {
      field: 'username',
    });
}

function str(input: Record<string, unknown>, key: string, max: number, fallback?: string): string {
  const value = input[key] ?? fallback;
  if (typeof value !== 'string' || value.length > max)
    throw validationError(`${key} must be a string of at most ${max} characters.`, { field: key });
  return value;
}

function strings(input: Record<string, unknown>, key: string): string[] {
  const value = input[key] ?? [];
  if (
    !Array.isArray(value) ||
    value.length > 50 ||
    !value.every((s) => typeof s === 'string' && s.length <= 4096)
  )
    throw validationError(`${key} must be a list of at most 50 statements.`, { field: key });
  return value as string[];
}

/** The common part of settings; `defaults` fill what a type does not need. */
export function normaliseCommonSettings(
  input: Record<string, unknown>,
  defaults: { port: number; adminUsername: string; usernamePrefix: string },
): ProducerSettings {
  const host = str(input, 'host', 255);
  if (!/^[A-Za-z0-9.:_-]{1,255}$/.test(host))
    throw validationError('host is not a host name or address.', { field: 'host' });
  const port = input.port ?? defaults.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw validationError('port must be an integer in [1, 65535].', { field: 'port' });
  const database =
    input.database === undefined || input.database === null ? null : str(input, 'database', 64);
  if (database !== null && !/^[A-Za-z0-9_$-]{1,64}$/.test(database))
    throw validationError('database is not a valid database name.', { field: 'database' });
  const usernamePrefix = str(input, 'usernamePrefix', 32, defaults.usernamePrefix);
  if (usernamePrefix !== '' && !/^[A-Za-z0-9_.-]{1,32}$/.test(usernamePrefix))
    throw validationError('usernamePrefix may hold letters, digits, _ . - only.', {
      field: 'usernamePrefix',
    });
  const options = input.options ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw validationError('options must be an object.', { field: 'options' });
  for (const [k, v] of Object.entries(options))
    if (k.length > 64 || !['string', 'number', 'boolean'].includes(typeof v) || String(v).length > 1024)
      throw validationError('options hold short strings, numbers and booleans.', { field: 'options' });
  const reassign = input.reassignOwnedTo;
  return {
    host,
    port,
    database,
    adminUsername: str(input, 'adminUsername', 128, defaults.adminUsername),
    adminPassword: str(input, 'adminPassword', 1024, ''),
    creationStatements: strings(input, 'creationStatements'),
    revocationStatements: strings(input, 'revocationStatements'),
    usernameTemplate: str(input, 'usernameTemplate', 128, `${usernamePrefix}{{random}}`),
    usernamePrefix,
    reassignOwnedTo: reassign === undefined || reassign === null ? null : str(input, 'reassignOwnedTo', 64),
    tls: input.tls === true,
    options: options as ProducerSettings['options'],
  };
}

/** A timeout option in milliseconds (bounded), for connecting to the target. */
export function timeoutMs(settings: ProducerSettings, fallback = 5000): number {
  const value = settings.options.connectTimeoutMs;
  return typeof value === 'number' && value >= 100 && value <= 60_000 ? value : fallback;
}

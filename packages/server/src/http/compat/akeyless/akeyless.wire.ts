import type { FastifyRequest } from 'fastify';
import { validationError } from '../../../core/shared/errors.js';

/**
 * The Akeyless wire conventions (see docs/akeyless-compat.md): credentials in the body, kebab-case
 * request keys, snake_case answers, durations in minutes. Pure translation, no policy.
 */

/** The body of an Akeyless command, as far as the credential extraction needs it. */
type CredentialBody = { token?: unknown; 'uid-token'?: unknown } | null | undefined;

const MAX_CREDENTIAL = 4096;

/**
 * The caller's credential: `token` (a `t-` session token, the JWT behind the prefix) or, when there
 * is none, `uid-token` (a `u-` token). Returns null when neither is a usable string.
 */
export function credentialFromBody(request: FastifyRequest): string | null {
  const body = request.body as CredentialBody;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const token = body.token;
  if (typeof token === 'string' && token !== '') {
    if (token.length > MAX_CREDENTIAL) return '';
    return token.startsWith('t-') ? token.slice(2) : token;
  }
  const uid = body['uid-token'];
  if (typeof uid === 'string' && uid !== '') return uid.length > MAX_CREDENTIAL ? '' : uid;
  return null;
}

/** A session token as Akeyless clients expect it: `t-` in front of the JWT. */
export const toAkeylessSessionToken = (jwt: string) => `t-${jwt}`;

/** `2026-11-22 12:00:00 UTC`: the form of the UID tree's time strings. */
export function akeylessTime(ms: number | null): string {
  if (ms === null) return '';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const MAX_MINUTES = 400 * 24 * 60;

/** Minutes on the wire → seconds inside; absent or 0 (the SDK's "default") → undefined. */
export function minutesToSeconds(value: number | undefined, field: string): number | undefined {
  if (value === undefined || value === 0) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > MAX_MINUTES) {
    throw validationError(`${field} must be a whole number of minutes between 1 and ${MAX_MINUTES}.`, {
      field,
    });
  }
  return value * 60;
}

export const secondsToMinutes = (seconds: number) => Math.round(seconds / 60);

/** Akeyless `access-expires`: a Unix time in seconds, 0 for never. */
export function accessExpiresToMs(value: number | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 0) return null;
  if (!Number.isInteger(value) || value < 0 || value > 253_402_300_799) {
    throw validationError('access-expires must be a Unix time in seconds, or 0 for never.', {
      field: 'access-expires',
    });
  }
  return value * 1000;
}

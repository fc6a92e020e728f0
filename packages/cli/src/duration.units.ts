/**
 * TTL flags are in MINUTES on the command line (as in the Akeyless CLI); the API takes seconds.
 */

import { UsageError } from './cli.errors.js';

/** The largest TTL accepted on the command line: 10 years, in minutes. */
export const MAX_TTL_MINUTES = 10 * 366 * 24 * 60;

/**
 * Converts a TTL flag in minutes to whole seconds (fractions allowed: `0.5` → 30).
 *
 * @param minutes - the flag's value
 * @param flag - the flag name, for the message
 * @throws {@link UsageError} unless the value is positive, finite, at least one second and at most 10 years
 */
export function minutesToSeconds(minutes: number, flag: string): number {
  if (!Number.isFinite(minutes) || minutes <= 0) {
    throw new UsageError(`--${flag} must be a positive number of minutes, got ${String(minutes)}`);
  }
  if (minutes > MAX_TTL_MINUTES)
    throw new UsageError(`--${flag} is too large (at most ${MAX_TTL_MINUTES} minutes)`);
  const seconds = Math.round(minutes * 60);
  if (seconds < 1) throw new UsageError(`--${flag} must be at least one second (1/60 minute)`);
  return seconds;
}

/** {@link minutesToSeconds} for an optional flag. */
export function optionalMinutesToSeconds(minutes: number | undefined, flag: string): number | undefined {
  return minutes === undefined ? undefined : minutesToSeconds(minutes, flag);
}

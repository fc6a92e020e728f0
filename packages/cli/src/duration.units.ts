/**
 * Durations on the command line: one parser for every TTL, interval and grace flag.
 *
 * A value with units — `90s`, `30m`, `12h`, `7d`, `1h30m`, `1h 30m` (what the CLI prints) — means
 * what it says everywhere. A bare number keeps the unit each flag has always documented: MINUTES
 * for auth methods, UID tokens, rules and rotated secrets (as in the Akeyless CLI), SECONDS for
 * dynamic secrets and leases. The API always takes seconds.
 */

import type { ArgReader } from './argv.parser.js';
import { UsageError } from './cli.errors.js';

/** The largest duration accepted on the command line: 10 years. */
export const MAX_DURATION_SECONDS = 10 * 366 * 24 * 3600;

/** The largest TTL accepted on the command line: 10 years, in minutes. */
export const MAX_TTL_MINUTES = MAX_DURATION_SECONDS / 60;

/** What a bare number means for a flag. */
export type BareUnit = 'minutes' | 'seconds';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const BARE = /^\d{1,12}(?:\.\d{1,6})?$/;
const WITH_UNITS = /^(?:\d{1,9}(?:\.\d{1,6})?\s*[smhd]\s*)+$/;

/** Options of {@link parseDuration}. */
export interface DurationOptions {
  /** Accept `0` (e.g. no grace period). Default false. */
  allowZero?: boolean;
}

/**
 * Parses a duration flag to whole seconds.
 *
 * @param value - the flag's value, e.g. `90s`, `30m`, `1h30m`, `7d`, or a bare number
 * @param flag - the flag name (without `--`), for messages
 * @param bare - the unit of a bare number
 * @throws {@link UsageError} unless the value is well formed, at least one second (or zero when
 *   allowed) and at most 10 years
 */
export function parseDuration(
  value: string,
  flag: string,
  bare: BareUnit,
  options: DurationOptions = {},
): number {
  const text = value.trim().toLowerCase();
  let seconds: number;
  if (BARE.test(text)) {
    seconds = Number(text) * (bare === 'minutes' ? 60 : 1);
  } else if (WITH_UNITS.test(text)) {
    seconds = 0;
    for (const part of text.matchAll(/(\d+(?:\.\d+)?)\s*([smhd])/g)) {
      seconds += Number(part[1]) * (UNIT_SECONDS[part[2] as string] as number);
    }
  } else {
    throw new UsageError(
      `--${flag} must be a duration such as 90s, 30m, 12h, 7d or 1h30m ` +
        `(a bare number is ${bare}), got "${value}"`,
    );
  }
  seconds = Math.round(seconds);
  if (seconds === 0 && options.allowZero && Number.parseFloat(text) === 0) return 0;
  if (seconds < 1) throw new UsageError(`--${flag} must be at least one second, got "${value}"`);
  if (seconds > MAX_DURATION_SECONDS) throw new UsageError(`--${flag} is too large (at most 10 years)`);
  return seconds;
}

/** {@link parseDuration} of an optional string flag; undefined when the flag is absent. */
export function durationFlag(
  args: ArgReader,
  flag: string,
  bare: BareUnit,
  options: DurationOptions = {},
): number | undefined {
  const raw = args.parsed.options[flag];
  if (raw === undefined) return undefined;
  return parseDuration(String(raw), flag, bare, options);
}

/**
 * Converts a TTL in minutes to whole seconds (fractions allowed: `0.5` → 30).
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

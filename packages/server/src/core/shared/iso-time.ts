const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from there on `toISOString` writes a six-digit year. */
const YEAR_10000_MS = 253_402_300_800_000;

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()`, byte for byte, for a caller that formats many instants of the same
 * UTC day (the audit sinks' `at`, a session's `expiresAt`): the date part is formatted once per day
 * and the time of day by arithmetic, about five times cheaper than a `Date` per call. Each caller
 * keeps its own formatter, so two callers formatting different days do not evict each other.
 */
export function createIsoFormatter(): (ms: number) => string {
  let dayStartMs = Number.NaN;
  let datePart = '';
  return (ms) => {
    // A fractional, negative or far-future instant is Date's to format, whatever day is cached.
    if (!Number.isInteger(ms)) return new Date(ms).toISOString();
    if (!(ms >= dayStartMs && ms < dayStartMs + DAY_MS)) {
      if (ms < 0 || ms >= YEAR_10000_MS) return new Date(ms).toISOString();
      dayStartMs = ms - (ms % DAY_MS);
      datePart = new Date(dayStartMs).toISOString().slice(0, 11);
    }
    let t = ms - dayStartMs;
    const milli = t % 1000;
    t = (t - milli) / 1000;
    const s = t % 60;
    t = (t - s) / 60;
    const m = t % 60;
    const h = (t - m) / 60;
    const millis = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : `${milli}`;
    return `${datePart}${two(h)}:${two(m)}:${two(s)}.${millis}Z`;
  };
}

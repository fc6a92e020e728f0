/** Exponential backoff with full jitter: a random delay in [base/2, base], base = initial·2^attempt, capped. */
export function backoffDelayMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * Output helpers: JSON for scripts, tables and key/value blocks for people, and times shown as
 * ISO-8601 plus a relative hint ("in 59m", "3h ago").
 */

/** Pretty JSON followed by a newline: what every `--json` command prints on stdout. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value ?? null, null, 2)}\n`;
}

/** A duration in seconds as `45s`, `60m`, `1h 30m`, `12h`, `2d 3h`. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds)) return '-';
  const s = Math.round(Math.abs(totalSeconds));
  if (s < 60) return `${s}s`;
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  // Plain minutes up to two hours read best for TTLs given in minutes (the CLI's unit).
  if (s < 7200 && days === 0)
    return seconds ? `${Math.floor(s / 60)}m ${seconds}s` : `${Math.floor(s / 60)}m`;
  if (days === 0) return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
  return hours ? `${days}d ${hours}h` : `${days}d`;
}

/** A time difference as `in 59m` / `3h ago` / `now`, with one or two units. */
export function formatRelative(targetMs: number, nowMs: number): string {
  const diffSeconds = Math.round((targetMs - nowMs) / 1000);
  if (Math.abs(diffSeconds) < 1) return 'now';
  const text = compactDuration(Math.abs(diffSeconds));
  return diffSeconds > 0 ? `in ${text}` : `${text} ago`;
}

function compactDuration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days === 0) return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
  return hours ? `${days}d ${hours}h` : `${days}d`;
}

/** ISO-8601 without milliseconds, e.g. `2025-06-01T10:00:00Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `2025-06-01T10:00:00Z (in 59m)`; `-` for null/invalid. */
export function formatTime(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '-';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${isoSeconds(ms)} (${formatRelative(ms, nowMs)})`;
}

/** Renders rows under headers with aligned columns (two spaces apart). */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** Renders `label: value` lines with aligned values; pairs with an undefined value are skipped. */
export function renderKeyValues(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return `${shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n')}\n`;
}

/** `yes` / `no`. */
export function yesNo(value: boolean | undefined): string {
  return value ? 'yes' : 'no';
}

/** A list for display; `-` when empty. */
export function listText(values: readonly string[] | null | undefined): string {
  return values && values.length > 0 ? values.join(', ') : '-';
}

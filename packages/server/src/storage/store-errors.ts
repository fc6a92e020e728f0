/**
 * What a driver error says about the store itself (issue 19), so that the error mapper can answer
 * a retryable 503 or a 507 instead of a bare 500:
 * - `full`: the disk under the store is full (SQLite `SQLITE_FULL`, PostgreSQL class 53100
 *   `disk_full`). Writes fail closed; reads go on; service resumes once space returns.
 * - `unavailable`: the store cannot be reached or is restarting (PostgreSQL connection exceptions,
 *   class 08; admin/crash shutdown 57P01–57P03; too many connections 53300; a dropped socket;
 *   SQLite busy or I/O errors). The pool reconnects on its own; the client should retry.
 */
export type StoreFailure = 'full' | 'unavailable';

const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
const NET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTCONN',
]);
const PG_CLIENT_MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
];

function classifyOne(error: unknown): StoreFailure | null {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'SQLITE_FULL' || code === '53100') return 'full';
  if (code === 'ENOSPC') return 'full';
  if (code.startsWith('08') && code.length === 5) return 'unavailable';
  if (PG_UNAVAILABLE.has(code) || NET_UNAVAILABLE.has(code)) return 'unavailable';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN')
    return 'unavailable';
  const message = typeof e.message === 'string' ? e.message : '';
  if (PG_CLIENT_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  return null;
}

/** The store failure behind `error` or any of its causes (a commit failure wraps the driver's). */
export function classifyStoreFailure(error: unknown): StoreFailure | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const found = classifyOne(current);
    if (found) return found;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

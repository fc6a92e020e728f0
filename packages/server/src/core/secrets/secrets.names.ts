import { secretNameInvalid } from './secrets.errors.js';

/** Longest item name, leading `/` included. */
export const MAX_SECRET_NAME_LENGTH = 512;
/** Most segments in an item name (`/a/b/c` has 3). */
export const MAX_SECRET_NAME_DEPTH = 32;
/** The characters a name may use: a printable ASCII subset safe in URLs, shells and rule patterns. */
export const SECRET_NAME_CHARS = /^[A-Za-z0-9._\-/@+=:]+$/;
/** A canonical name: 1 to 32 segments of the allowed characters, none of them `.` or `..`. */
const CANONICAL = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._\-@+=:]+){1,32}$/;
/** The same set as a JSON-schema pattern (wire schemas). */
export const SECRET_NAME_PATTERN = '^[A-Za-z0-9._\\-/@+=:]+$';

function segmentsOf(path: string, what: string): string[] {
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') throw secretNameInvalid(`${what} has an empty segment ("//" or a trailing "/")`);
    if (segment === '.' || segment === '..') throw secretNameInvalid(`${what} has a "." or ".." segment`);
  }
  if (segments.length > MAX_SECRET_NAME_DEPTH)
    throw secretNameInvalid(`${what} is deeper than ${MAX_SECRET_NAME_DEPTH} segments`);
  return segments;
}

function withLeadingSlash(raw: string, what: string): string {
  if (!SECRET_NAME_CHARS.test(raw))
    throw secretNameInvalid(`${what} may only use letters, digits and . _ - / @ + = :`);
  const path = raw.startsWith('/') ? raw : `/${raw}`;
  if (path.length > MAX_SECRET_NAME_LENGTH)
    throw secretNameInvalid(`${what} is longer than ${MAX_SECRET_NAME_LENGTH} characters`);
  return path;
}

/**
 * The canonical form of an item name: a leading `/` is added when missing; anything else that is
 * not already canonical (empty, `.`/`..` or empty segments, a trailing `/`, other characters, too
 * long or too deep) is refused with `TESSERA_SECRET_NAME_INVALID` rather than silently rewritten,
 * so two different strings never name the same item.
 */
export function normaliseSecretName(raw: string): string {
  // The common case in one expression (the read path checks a name several times per request).
  if (raw.length <= MAX_SECRET_NAME_LENGTH && CANONICAL.test(raw)) return raw;
  const name = withLeadingSlash(raw, 'The item name');
  if (name === '/') throw secretNameInvalid('The item name is empty');
  segmentsOf(name, 'The item name');
  return name;
}

/**
 * The canonical form of a folder to list: `''` and `/` are the root; a leading `/` is added and one
 * trailing `/` dropped; the rest follows the item name rules.
 */
export function normaliseFolder(raw: string): string {
  if (raw === '' || raw === '/') return '/';
  let path = withLeadingSlash(raw, 'The folder');
  if (path.endsWith('/')) path = path.slice(0, -1);
  segmentsOf(path, 'The folder');
  return path;
}

/** The folder an item is in: `/a/b/c` → `/a/b`, `/a` → `/`. */
export function folderOf(name: string): string {
  const cut = name.lastIndexOf('/');
  return cut <= 0 ? '/' : name.slice(0, cut);
}

/** The names strictly below `folder` are those in [`low`, `high`) in byte order. */
export function folderRange(folder: string): { low: string; high: string } {
  // '/' is 0x2F and '0' is 0x30: every name starting with `<folder>/` sorts between the two bounds.
  const base = folder === '/' ? '' : folder;
  return { low: `${base}/`, high: `${base}0` };
}

/**
 * The immediate sub-folder of `folder` that `itemFolder` (a folder somewhere below it) lies in:
 * (`/a`, `/a/b/c`) → `/a/b`. Null when `itemFolder` is `folder` itself.
 */
export function childFolder(folder: string, itemFolder: string): string | null {
  const base = folder === '/' ? '' : folder;
  if (itemFolder === folder || !itemFolder.startsWith(`${base}/`)) return null;
  const next = itemFolder.indexOf('/', base.length + 1);
  return next === -1 ? itemFolder : itemFolder.slice(0, next);
}

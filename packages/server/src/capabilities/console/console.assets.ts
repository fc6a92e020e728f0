import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One built file of the console, held in memory with its gzip form (the bundle is small). */
export interface ConsoleAsset {
  readonly body: Buffer;
  readonly gzip: Buffer | null;
  readonly type: string;
  /** Hashed file names (`assets/index-3fa9c1.js`) never change: cached for a year. */
  readonly immutable: boolean;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Where `npm run build` puts the console (`packages/console/dist`), seen from this file. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../../console/dist/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/**
 * Loads the built console: `index.html` plus everything under `assets/`. Returns null when the
 * console was not built (the server still starts; `/ui` then says how to build it).
 */
export function loadConsoleAssets(dir: string = DEFAULT_CONSOLE_DIR): Map<string, ConsoleAsset> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, ConsoleAsset>();
  for (const path of walk(dir)) {
    const name = relative(dir, path).split(sep).join('/');
    const body = readFileSync(path);
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    const compressible = /^(text\/|image\/svg|application\/json)/.test(type) && body.length > 512;
    assets.set(name, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : null,
      type,
      immutable: name.startsWith('assets/'),
      etag: `"${body.length.toString(16)}-${hashOf(body)}"`,
    });
  }
  return assets;
}

/** A cheap content tag for ETags (FNV-1a): not a security boundary, only cache validation. */
function hashOf(body: Buffer): string {
  let h = 0x811c9dc5;
  for (const byte of body) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h.toString(16);
}

#!/usr/bin/env node
/**
 * Generates `schemas/tessera-config.schema.json`, the JSON Schema of identity-as-code files
 * (ADR 0021), from the config kinds the server's capabilities register: editors validate and
 * complete the files with it, and the server checks every file against the same schema.
 *
 * It builds the server from `packages/server/dist` (run `npm run build` first, or
 * `npm run gen:config-schema`) without listening. `generate()` returns the file's content.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the generated file lives. */
export const OUTPUT_PATH = join(ROOT, 'schemas/tessera-config.schema.json');

/** @returns {Promise<string>} the schema, formatted as Biome formats JSON */
export async function generate() {
  const server = await import(pathToFileURL(join(ROOT, 'packages/server/dist/index.js')).href).catch(
    (error) => {
      throw new Error(`cannot load packages/server/dist (run "npm run build" first): ${error.message}`);
    },
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-gen-config-'));
  try {
    const tessera = await server.createTessera(server.loadConfig({ dataDir, logLevel: 'silent' }, {}), {
      logger: false,
    });
    try {
      const schema = tessera.modules.config.services.config.schema();
      return execFileSync(
        join(ROOT, 'node_modules/.bin/biome'),
        ['format', `--stdin-file-path=${relative(ROOT, OUTPUT_PATH)}`],
        {
          cwd: ROOT,
          input: `${JSON.stringify(schema, null, 2)}\n`,
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
    } finally {
      await tessera.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  writeFileSync(OUTPUT_PATH, await generate());
  console.log(`wrote ${relative(ROOT, OUTPUT_PATH)}`);
}

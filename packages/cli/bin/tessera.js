#!/usr/bin/env node
// The `tessera` command. npm links this committed file at install time, before `prepare` builds
// dist/, so the link always points at something that exists; the CLI itself is in ../dist/bin.js.
import { existsSync } from 'node:fs';

const target = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(target)) {
  process.stderr.write(
    'tessera: the CLI is not built yet (packages/cli/dist/bin.js is missing).\n' +
      'Run `npm run build` in the repository root (`npm install` runs it too), then try again.\n',
  );
  process.exit(1);
}
await import(target.href);

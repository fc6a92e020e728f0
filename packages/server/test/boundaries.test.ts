import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRepository, checkSource, type Violation } from './boundaries.checker.js';

/**
 * Issue 11 "Enforce the boundaries with tests": core/ has no I/O, only crypto/ holds crypto
 * primitives, only config/ reads the environment, the SDK imports no `node:` module.
 */
const ROOT = resolve(__dirname, '../../..');

/**
 * Known, accepted exceptions: `file` and `rule`, each with the reason. Keep it narrow (one file, one
 * rule) and empty when possible; an entry that no longer matches anything fails the test too.
 */
const ALLOWED: ReadonlyArray<{ file: string; rule: Violation['rule']; why: string }> = [];

const allowed = (v: Violation) => ALLOWED.some((a) => a.file === v.file && a.rule === v.rule);
const show = (vs: Violation[]) => vs.map((v) => `${v.file}:${v.line} [${v.rule}] ${v.what}`);

describe('architecture boundaries of the repository', () => {
  const violations = checkRepository(ROOT);

  it('has no violation outside the allow-list', () => {
    expect(show(violations.filter((v) => !allowed(v)))).toEqual([]);
  });

  it('has no stale allow-list entry', () => {
    const stale = ALLOWED.filter((a) => !violations.some((v) => v.file === a.file && v.rule === a.rule));
    expect(stale).toEqual([]);
  });
});

describe('the boundary checker', () => {
  const core = 'packages/server/src/core/uid/uid.service.ts';
  const rules = (file: string, text: string) => checkSource(file, text).map((v) => `${v.rule}: ${v.what}`);

  it('refuses HTTP, SQL and Node imports in core/, in every import form', () => {
    expect(rules(core, "import Fastify from 'fastify';")).toEqual(['core: imports fastify']);
    expect(rules(core, "import type { FastifyRequest } from 'fastify';")).toEqual(['core: imports fastify']);
    expect(rules(core, "import swagger from '@fastify/swagger';")).toEqual([
      'core: imports @fastify/swagger',
    ]);
    expect(rules(core, "import { sql } from 'kysely';")).toEqual(['core: imports kysely']);
    expect(rules(core, "import pg from 'pg';")).toEqual(['core: imports pg']);
    expect(rules(core, "export { Pool } from 'pg';")).toEqual(['core: imports pg']);
    expect(rules(core, "const db = await import('better-sqlite3');")).toEqual([
      'core: imports better-sqlite3',
    ]);
    expect(rules(core, "const m = require('mysql2/promise');")).toEqual(['core: imports mysql2/promise']);
    expect(rules(core, "import { createClient } from 'redis';")).toEqual(['core: imports redis']);
    expect(rules(core, "import { readFileSync } from 'node:fs';")).toEqual(['core: imports node:fs']);
    expect(rules(core, "import { join } from 'path';")).toEqual(['core: imports path']);
    expect(rules(core, "import { readFile } from 'fs/promises';")).toEqual(['core: imports fs/promises']);
    expect(rules(core, "type T = import('node:net').Socket;")).toEqual(['core: imports node:net']);
    // Names that merely start like a forbidden package are fine, and so are the core's own modules.
    expect(rules(core, "import { x } from 'pgp-lite'; import { y } from '../shared/ports.js';")).toEqual([]);
  });

  it('refuses the environment and the wall clock in core/', () => {
    expect(rules(core, 'const port = process.env.PORT;')).toEqual([
      'env: reads process.env',
      'core: reads process.env',
    ]);
    expect(rules(core, "const e = globalThis.process['env'];")).toEqual([
      'env: reads process.env',
      'core: reads process.env',
    ]);
    expect(rules(core, 'const t = Date.now();')).toEqual(['core: reads the wall clock (Date.now)']);
    expect(rules(core, 'const now = Date.now;')).toEqual(['core: reads the wall clock (Date.now)']);
    expect(rules(core, 'const d = new Date();')).toEqual(['core: reads the wall clock (new Date())']);
    expect(rules(core, 'const d = new Date;')).toEqual(['core: reads the wall clock (new Date())']);
    expect(rules(core, 'const t = performance.now();')).toEqual([
      'core: reads the wall clock (performance.now)',
    ]);
    // A date from a given time is no clock; comments and strings are not code.
    expect(
      rules(
        core,
        "const d = new Date(ms).toISOString(); // Date.now() is never used\nconst s = 'process.env';",
      ),
    ).toEqual([]);
  });

  it('allows I/O outside core/', () => {
    const storage = 'packages/server/src/storage/database.ts';
    expect(
      rules(storage, "import pg from 'pg'; import { join } from 'node:path'; const t = Date.now();"),
    ).toEqual([]);
  });

  it('refuses crypto primitives outside packages/server/src/crypto', () => {
    const text = "import { randomBytes } from 'node:crypto';";
    expect(rules('packages/server/src/crypto/envelope.ts', text)).toEqual([]);
    expect(rules('packages/server/src/storage/leader.ts', text)).toEqual(['crypto: imports node:crypto']);
    expect(rules('packages/cli/src/file.atomic.ts', "import * as c from 'crypto';")).toEqual([
      'crypto: imports crypto',
    ]);
    expect(rules('packages/server/src/http/app.ts', "import { jwtVerify } from 'jose';")).toEqual([
      'crypto: imports jose',
    ]);
    expect(rules(core, text)).toEqual(['core: imports node:crypto', 'crypto: imports node:crypto']);
  });

  it('refuses process.env outside config/ (the CLI reads its own settings)', () => {
    const text = 'const level = process.env.TESSERA_LOG_LEVEL;';
    expect(rules('packages/server/src/config/config.ts', text)).toEqual([]);
    expect(rules('packages/cli/src/cli.context.ts', text)).toEqual([]);
    expect(rules('packages/server/src/server.ts', text)).toEqual(['env: reads process.env']);
    expect(rules('packages/sdk/src/client.transport.ts', text)).toEqual(['env: reads process.env']);
  });

  it('refuses node: imports in the SDK', () => {
    expect(rules('packages/sdk/src/verifier.ts', "import { Buffer } from 'node:buffer';")).toEqual([
      'sdk: imports node:buffer',
    ]);
    expect(rules('packages/sdk/src/verifier.ts', "import { decode } from './wire.js';")).toEqual([]);
  });
});

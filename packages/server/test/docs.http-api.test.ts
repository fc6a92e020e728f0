import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/core/shared/errors.js';
import { STATUS_BY_CODE } from '../src/http/error-mapper.js';
import { startTestServer, type TestServer } from './harness.js';

/** docs/http-api.md keeps up with the code: every error code with its status, every native route. */
const doc = readFileSync(join(resolve(__dirname, '../../..'), 'docs/http-api.md'), 'utf8');

describe('docs/http-api.md', () => {
  it('lists every error code once, with the status the server answers', () => {
    const rows = new Map<string, number>();
    for (const m of doc.matchAll(/^\| `(TESSERA_[A-Z_]+)` \| (\d{3}) \|/gm)) {
      expect(rows.has(m[1]!), `${m[1]} listed twice`).toBe(false);
      rows.set(m[1]!, Number(m[2]));
    }
    const codes = Object.values(ErrorCodes);
    for (const code of codes) {
      expect(rows.get(code), `${code} is missing from the error table of docs/http-api.md`).toBe(
        STATUS_BY_CODE[code],
      );
    }
    // …and nothing that is not a code.
    expect([...rows.keys()].filter((c) => !(codes as string[]).includes(c))).toEqual([]);
  });

  describe('routes', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer('sqlite');
    });
    afterAll(async () => {
      await s.close();
    });

    it('documents every route of the native API', () => {
      const spec = s.tessera.app.swagger() as { paths: Record<string, Record<string, unknown>> };
      const missing: string[] = [];
      let count = 0;
      for (const [path, ops] of Object.entries(spec.paths)) {
        if (path.startsWith('/akeyless/')) continue; // docs/akeyless-compat.md
        const route = path.replace(/\{(\w+)\}/g, ':$1');
        for (const method of Object.keys(ops)) {
          if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
          count++;
          const esc = `${method.toUpperCase()} ${route}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          if (!new RegExp(`\`${esc}[\`?]`).test(doc)) missing.push(`${method.toUpperCase()} ${route}`);
        }
      }
      expect(count).toBeGreaterThan(50);
      expect(missing, 'routes missing from docs/http-api.md').toEqual([]);
    });
  });
});

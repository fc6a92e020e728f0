// What every Tessera bench target shares: a server on a fresh temp data dir (or --data-dir, or
// --store postgres://…), log level `warn`, durable audit always on, and in-process JSON calls for
// its set-up (no load on the listening socket before the measurement starts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importServer } from './server-dist.mjs';

/**
 * Starts the server. Returns it with `call` (JSON through `app.inject`), `expect` (status check),
 * the data dir, whether this process owns it (delete on stop), and the store URL without a password.
 */
export async function startBenchTessera({ args, port, dataDirPrefix }) {
  const { loadConfig, startServer } = await importServer();
  const dataDir = args['data-dir'] ?? mkdtempSync(join(tmpdir(), dataDirPrefix));
  const ownsDataDir = !args['data-dir'] && !args.keep;
  const config = loadConfig(
    { port, host: '127.0.0.1', dataDir, logLevel: 'warn', ...(args.store ? { storeUrl: args.store } : {}) },
    { ...process.env, TESSERA_ISSUER: process.env.TESSERA_ISSUER ?? `http://127.0.0.1:${port}` },
  );
  const server = await startServer(config);
  const { tessera } = server;
  const storeUrl = config.storeUrl.startsWith('sqlite:')
    ? config.storeUrl
    : config.storeUrl.replace(/\/\/[^@]*@/, '//');

  async function call(method, url, { token, body } = {}) {
    const res = await tessera.app.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  }

  return { server, tessera, dataDir, ownsDataDir, storeUrl, call, expect: expectStatus };
}

/** The answer's body when its status is `status`; throws naming `what` otherwise. */
export function expectStatus(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../src/config/config.js';
import { startServer } from '../src/server.js';

/** Helpers of the unseal tests: a data dir with an admin and a secret, and JSON over real HTTP. */
export interface PreparedDataDir {
  dataDir: string;
  config: Config;
  admin: { accessId: string; accessKey: string };
  secretName: string;
  secretValue: string;
}

export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** Starts a server once on a new data dir (root.key created), stores a secret, and stops it. */
export async function prepareDataDir(): Promise<PreparedDataDir> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-unseal-'));
  const config = loadConfig(
    { dataDir, port: 0, host: '127.0.0.1', logLevel: 'silent' },
    { TESSERA_ISSUER: 'http://tessera.test' },
  );
  const running = await startServer(config, { logger: false });
  const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8'));
  const auth = await http(running.url, 'POST', '/v1/auth', { accessType: 'access_key', ...admin });
  const secretName = '/unseal/before-sealing';
  const secretValue = 'created-before-the-key-was-split';
  const created = await http(
    running.url,
    'POST',
    '/v1/secrets',
    { name: secretName, value: secretValue },
    auth.body.token,
  );
  if (created.status !== 201 && created.status !== 200) throw new Error(`secret: ${created.text}`);
  await running.close();
  return { dataDir, config, admin, secretName, secretValue };
}

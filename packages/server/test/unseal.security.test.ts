import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { interpolate, parseShare } from '../src/crypto/shamir.js';
import { createTessera } from '../src/server.js';
import { removeRootKeyFile, splitRootKeyOffline } from '../src/unseal/root-key-split.js';
import { startServerOrSealed, type UnsealableServer } from '../src/unseal/sealed-start.js';
import { http, type PreparedDataDir, prepareDataDir } from './unseal.helpers.js';

/** Attacks on the sealed server (ADR 0012): leaking shares, starting with too few, guessing. */
describe('unseal: security', () => {
  let prepared: PreparedDataDir;
  let shares: string[];
  let server: UnsealableServer | null = null;
  const logLines: string[] = [];
  const logger = { level: 'trace', stream: { write: (line: string) => void logLines.push(line) } };

  beforeAll(async () => {
    prepared = await prepareDataDir();
    shares = (await splitRootKeyOffline(prepared.config, { shares: 5, threshold: 3 })).shares;
    removeRootKeyFile(prepared.dataDir);
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    rmSync(prepared.dataDir, { recursive: true, force: true });
  });

  it('never puts a share (or its values) in a log line or an answer, accepted or refused', async () => {
    server = await startServerOrSealed(prepared.config, { logger });
    const url = server.url;
    const answers: string[] = [];
    const submit = async (share: string) => {
      const res = await http(url, 'POST', '/v1/sys/unseal', { share });
      answers.push(res.text, JSON.stringify([...res.headers]));
      return res;
    };
    await submit(shares[0]!);
    await submit(shares[0]!); // duplicate
    await submit(`${shares[1]!.slice(0, -1)}${shares[1]!.endsWith('0') ? '1' : '0'}`); // bad checksum
    await submit(`${shares[2]!}x`); // malformed
    const bad = await http(url, 'POST', '/v1/sys/unseal', `{"share": "${shares[3]!}", "other": 1}`);
    answers.push(bad.text);
    answers.push((await http(url, 'GET', '/v1/sys/seal-status')).text);
    await submit(shares[1]!);
    await submit(shares[2]!);
    await server.ready;
    await server.close();
    server = null;
    const everything = logLines.join('') + answers.join('');
    expect(logLines.join('')).toMatch(/unseal: key share accepted/);
    for (const share of shares) {
      const values = Buffer.from(parseShare(share).values).toString('base64url');
      expect(everything).not.toContain(share.slice(0, 40));
      expect(everything).not.toContain(values.slice(0, 20));
    }
    // The key itself is neither logged nor written back.
    expect(existsSync(join(prepared.dataDir, 'root.key'))).toBe(false);
  }, 60_000);

  it('two shares cannot start the server: not through the listener, not as a root key', async () => {
    server = await startServerOrSealed(prepared.config, { logger: false });
    const url = server.url;
    for (const share of shares.slice(3, 5))
      expect((await http(url, 'POST', '/v1/sys/unseal', { share })).body.sealed).toBe(true);
    let started = false;
    server.ready.then(
      () => {
        started = true;
      },
      () => {},
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toBe(false);
    expect(
      (await http(url, 'POST', '/v1/auth', { accessType: 'access_key', ...prepared.admin })).status,
    ).toBe(503);
    await server.close();
    server = null;
    // What two shares interpolate to is some other key: the store refuses to start with it.
    const guess = Buffer.from(interpolate(shares.slice(3, 5).map(parseShare)));
    const config = loadConfig(
      { dataDir: prepared.dataDir, port: 0, logLevel: 'silent' },
      { TESSERA_ROOT_KEY: guess.toString('base64') },
    );
    await expect(createTessera(config, { logger: false })).rejects.toThrow(/sealed under root key/);
  }, 60_000);

  it('answers hostile input with a 4xx and a stable code, never a 5xx', async () => {
    server = await startServerOrSealed(prepared.config, { logger: false, unsealAttemptsPerMinute: 1000 });
    const url = `${server.url}/v1/sys/unseal`;
    const send = async (body: string, type = 'application/json') => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: res.status, code: ((await res.json()) as any).error?.code };
    };
    expect(await send('x'.repeat(10_000))).toEqual({ status: 413, code: 'TESSERA_PAYLOAD_TOO_LARGE' });
    expect(await send('share=x', 'application/x-www-form-urlencoded')).toEqual({
      status: 415,
      code: 'TESSERA_UNSUPPORTED_MEDIA_TYPE',
    });
    for (const body of [
      '',
      'null',
      '[]',
      '{"share": 5}',
      '{"share": ""}',
      `{"share": "${'a'.repeat(2000)}"}`,
    ])
      expect(await send(body)).toMatchObject({ status: 400 });
    for (const share of [
      'tessera-share-999-3-abcdefghij-AAAA-00000000',
      `tessera-share-1-3-${'é'.repeat(10)}-AA-00000000`,
    ])
      expect(await send(JSON.stringify({ share }))).toEqual({
        status: 400,
        code: 'TESSERA_UNSEAL_SHARE_INVALID',
      });
    expect((await fetch(`${server.url}/v1/sys/unseal`)).status).toBe(503);
    // A malformed path is still just "sealed" (or a 400), never an internal error.
    expect([400, 503]).toContain((await fetch(`${server.url}/%zz`)).status);
    await server.close();
    server = null;
  }, 60_000);

  it('rate-limits unseal attempts per source address (429 with Retry-After)', async () => {
    server = await startServerOrSealed(prepared.config, { logger: false, unsealAttemptsPerMinute: 3 });
    const url = server.url;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await http(url, 'POST', '/v1/sys/unseal', { share: `tessera-share-${i + 1}-3-guess` });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
    expect(retryAfter).toBe('60');
    // Even a real share is refused while blocked.
    expect((await http(url, 'POST', '/v1/sys/unseal', { share: shares[0]! })).status).toBe(429);
    expect((await http(url, 'GET', '/v1/sys/seal-status')).body.progress).toBe(0);
    await server.close();
    server = null;
  }, 60_000);
});

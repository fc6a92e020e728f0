/**
 * Slow and idle connections are dropped (issue 10): a client that trickles its headers (slowloris),
 * one that never finishes its body, and an idle keep-alive connection are disconnected by the
 * server's timeouts (config `httpTimeouts`, TESSERA_HTTP_*_TIMEOUT_MS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startServer } from '../src/server.js';

/** Resolves with the ms until the server closed the socket (and what it had sent), or null after `maxMs`. */
function closedWithin(socket: Socket, maxMs: number): Promise<{ afterMs: number; received: string } | null> {
  const start = performance.now();
  let received = '';
  socket.on('data', (d) => {
    received += d.toString('latin1');
  });
  return new Promise((ok) => {
    const timer = setTimeout(() => ok(null), maxMs);
    socket.once('close', () => {
      clearTimeout(timer);
      ok({ afterMs: performance.now() - start, received });
    });
  });
}

describe('HTTP server timeouts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-timeouts-'));
  let server: Awaited<ReturnType<typeof startServer>>;
  let port: number;
  beforeAll(async () => {
    const config = loadConfig(
      { dataDir: join(dir, 'data'), port: 0, host: '127.0.0.1', logLevel: 'silent' },
      {
        TESSERA_ISSUER: 'http://t.test',
        TESSERA_HTTP_HEADERS_TIMEOUT_MS: '1000',
        TESSERA_HTTP_REQUEST_TIMEOUT_MS: '2000',
        TESSERA_HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
        TESSERA_HTTP_CONNECTION_TIMEOUT_MS: '4000',
      },
    );
    server = await startServer(config, { logger: false });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = () =>
    new Promise<Socket>((ok, fail) => {
      const s = connect(port, '127.0.0.1', () => ok(s));
      s.once('error', fail);
    });

  it('the defaults are set, and validated', () => {
    const t = loadConfig({ dataDir: dir }, {}).httpTimeouts;
    expect(t).toEqual({ headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000, connectionMs: 120_000 });
    expect(() => loadConfig({ dataDir: dir }, { TESSERA_HTTP_HEADERS_TIMEOUT_MS: '40000' })).toThrow(
      /TESSERA_HTTP_HEADERS_TIMEOUT_MS/,
    );
  });

  it('a client sending its headers one byte at a time is disconnected at the headers timeout', async () => {
    const socket = await open();
    const request = 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && i < request.length) socket.write(request[i++]!);
    }, 100);
    try {
      const closed = await closedWithin(socket, 6_000);
      expect(closed, 'the slow client is still connected after 6 s').not.toBeNull();
      expect(closed!.afterMs).toBeLessThan(3_000);
      // The headers never completed: no response was ever sent for them (node answers 408 or closes).
      expect(closed!.received).not.toContain('200 OK');
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('a request whose body never arrives is cut off at the request timeout', async () => {
    const socket = await open();
    socket.write(
      'POST /v1/auth HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    const closed = await closedWithin(socket, 6_000);
    socket.destroy();
    expect(closed, 'the stalled request is still connected after 6 s').not.toBeNull();
    expect(closed!.afterMs).toBeLessThan(4_000);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const socket = await open();
    const closed = closedWithin(socket, 6_000);
    socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
    const result = await closed;
    socket.destroy();
    expect(result).not.toBeNull();
    expect(result!.received).toContain('200 OK');
    expect(result!.afterMs).toBeLessThan(2_500);
  });
});

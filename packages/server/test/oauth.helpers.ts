import { createServer } from 'node:net';
import { adminSession, type StoreKind, startTestServer, type TestServer } from './harness.js';

/** A free port on 127.0.0.1 (the issuer must name the port before the server starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Tessera listening on 127.0.0.1 with its issuer at that address, on the wall clock (clients we
 * did not write sign assertions and proofs with the real time).
 */
export async function startLiveServer(store: StoreKind = 'sqlite'): Promise<TestServer & { issuer: string }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const s = await startTestServer(store, { TESSERA_ISSUER: issuer });
  s.clock.ms = Date.now();
  // Real time moves: keep the test clock on it.
  const timer = setInterval(() => {
    s.clock.ms = Date.now();
  }, 50);
  timer.unref();
  s.adminToken = await adminSession(s);
  await s.tessera.app.listen({ host: '127.0.0.1', port });
  const close = s.close;
  return {
    ...s,
    issuer,
    async close() {
      clearInterval(timer);
      await close();
    },
  };
}

/** Registers an OAuth client through the native API; returns its id and secret (if any). */
export async function createClient(
  s: TestServer,
  name: string,
  body: Record<string, unknown> = {},
): Promise<{ clientId: string; clientSecret?: string; body: any }> {
  const r = await s.call('POST', '/v1/oauth-clients', { token: s.adminToken, body: { name, ...body } });
  if (r.status !== 201) throw new Error(`client creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  if (r.body.clientSecret) s.track(r.body.clientSecret);
  return { clientId: r.body.client.clientId, clientSecret: r.body.clientSecret, body: r.body };
}

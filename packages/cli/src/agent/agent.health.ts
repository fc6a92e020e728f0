/**
 * `GET /healthz` for the agent: its state as JSON (token expiry, last rotation, last render, last
 * error — never a token). 200 when the last cycle succeeded, 503 otherwise.
 */

import { createServer, type Server } from 'node:http';
import type { AgentState } from './agent.core.js';

/** A running health endpoint. */
export interface HealthServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the health endpoint.
 *
 * @param listen - host and port
 * @param state - called per request for the current state
 */
export async function startHealthServer(
  listen: { host: string; port: number },
  state: () => AgentState & Record<string, unknown>,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
      return;
    }
    const body = state();
    res
      .writeHead(body.status === 'ok' ? 200 : 503, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      })
      .end(`${JSON.stringify(body)}\n`);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(listen.port, listen.host, () => ok());
  });
  server.unref();
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : listen.port,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

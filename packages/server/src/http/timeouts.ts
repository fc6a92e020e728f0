import type { ServerOptions } from 'node:http';
import type { HttpTimeouts } from '../config/config.js';

/**
 * The Fastify and node:http options that drop slow and idle connections. Node checks the header and
 * request deadlines every `connectionsCheckingInterval` (default 30 s), so the interval follows the
 * shortest deadline: a client trickling its headers is cut off close to `headersMs`.
 */
export function httpTimeoutOptions(t: HttpTimeouts | undefined): {
  connectionTimeout?: number;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  http?: ServerOptions;
} {
  if (!t) return {};
  const deadlines = [t.headersMs, t.requestMs].filter((ms) => ms > 0);
  const checkEvery = Math.max(100, Math.min(1_000, ...deadlines.map((ms) => Math.ceil(ms / 4))));
  return {
    connectionTimeout: t.connectionMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      connectionsCheckingInterval: checkEvery,
    },
  };
}

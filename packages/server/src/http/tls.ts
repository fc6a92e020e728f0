import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { certificateThumbprint } from '../crypto/certificates.js';

/** The client certificate of a TLS connection, as the TLS layer saw it. */
export interface PresentedCertificate {
  der: Buffer;
  /** `x5t#S256` (RFC 8705 §3.1). */
  thumbprint: string;
  /** Whether the listener's own client CAs (`--tls-client-ca`) verified its chain. */
  authorized: boolean;
}

const seen = new WeakMap<object, PresentedCertificate | null>();

/**
 * The client certificate presented on the request's connection, or null (plain HTTP, or no
 * certificate). Read once per connection: keep-alive requests share it.
 */
export function presentedCertificate(request: FastifyRequest): PresentedCertificate | null {
  const socket = request.raw.socket as Partial<TLSSocket> | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
  const cached = seen.get(socket);
  if (cached !== undefined) return cached;
  const peer = socket.getPeerCertificate(false) as { raw?: Buffer } | null;
  const der = peer?.raw;
  const presented =
    der && der.length > 0
      ? { der, thumbprint: certificateThumbprint(der), authorized: socket.authorized === true }
      : null;
  seen.set(socket, presented);
  return presented;
}

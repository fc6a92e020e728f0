/**
 * The CLI's `fetch` for the SDK, on `node:http`/`node:https`. Node's global `fetch` loads and
 * compiles undici on first use: ~140 ms of CPU here, more than the rest of a command together
 * (issue 10, item 8). The SDK needs only what this provides: method, headers, a string body, an
 * abort signal, and back status, headers and the body as text.
 */

import type { IncomingMessage } from 'node:http';
import type { FetchLike } from '@tessera/sdk';

/** The part of `Response` the SDK reads. */
interface SmallResponse {
  ok: boolean;
  status: number;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

function abortError(): Error {
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

function toResponse(res: IncomingMessage, body: string): SmallResponse {
  const status = res.statusCode ?? 0;
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: res.statusMessage ?? '',
    headers: {
      get(name: string) {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    text: async () => body,
  };
}

/** A client certificate and key (PEM) presented on HTTPS connections, and the CAs trusted for the server. */
export interface ClientTls {
  cert: string;
  key: string;
  /** Trusted for the server's certificate instead of the default CAs (NODE_EXTRA_CA_CERTS included). */
  ca?: string | undefined;
}

/** A {@link FetchLike} on `node:http`; errors look like `fetch`'s ("fetch failed", the reason in `cause`). */
export const nodeHttpFetch: FetchLike = (input, init) => nodeRequest(input, init, null);

/** {@link nodeHttpFetch} presenting a client certificate (mTLS); it refuses plain HTTP URLs. */
export const mtlsFetch =
  (tls: ClientTls): FetchLike =>
  (input, init) =>
    nodeRequest(input, init, tls);

async function nodeRequest(
  input: Parameters<FetchLike>[0],
  init: Parameters<FetchLike>[1],
  tls: ClientTls | null,
): Promise<Response> {
  const url = new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`unsupported URL ${url.protocol}`);
  if (tls && url.protocol !== 'https:') throw new TypeError('a client certificate needs an https:// URL');
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw abortError();
  const headers = { ...(init.headers as Record<string, string> | undefined) };
  const body = typeof init.body === 'string' ? init.body : undefined;
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const response = await new Promise<SmallResponse>((resolve, reject) => {
    const options = {
      method: init.method ?? 'GET',
      headers,
      ...(tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}), agent: false } : {}),
    };
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(toResponse(res, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', (err) => reject(new TypeError('fetch failed', { cause: err })));
    });
    const onAbort = (): void => {
      req.destroy();
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (err) =>
      reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: err })),
    );
    req.end(body);
  });
  return response as unknown as Response;
}

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { type OutboundRefusal, outboundRefusal } from '../core/shared/outbound.js';

/** A connection Tessera refused to open (`reason` is stable; the address is for logs only). */
export class OutboundRefused extends Error {
  constructor(
    readonly reason: OutboundRefusal | 'scheme',
    readonly address: string,
  ) {
    super(`outbound request refused: ${reason}`);
    this.name = 'OutboundRefused';
  }
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** `error`: a 3xx is an error; `manual`: returned as is. Redirects are never followed. */
  redirect?: 'error' | 'manual';
}

/** The subset of `fetch` Tessera's outbound callers use. */
export type OutboundFetch = (url: string, init?: OutboundInit) => Promise<Response>;

type Resolve = (
  hostname: string,
  options: { all: true; family?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * `fetch` for URLs chosen by clients (SSRF / DNS rebinding guard, ADR 0039): the host is resolved
 * once, every address is checked with `outboundRefusal`, and the socket connects to those checked
 * addresses — there is no second resolution an attacker's DNS could answer differently. A host
 * written as an address is checked directly. `resolve` is injectable for tests.
 */
export function createOutboundFetch(
  allow: readonly string[],
  resolve: Resolve = dnsLookup as unknown as Resolve,
): OutboundFetch {
  const guardedLookup = (
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    resolve(hostname, { all: true, ...(options.family ? { family: options.family } : {}) }, (error, list) => {
      if (error) return callback(error, '');
      const first = list[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      for (const a of list) {
        const reason = outboundRefusal(a.address, allow);
        if (reason) return callback(new OutboundRefused(reason, a.address), '');
      }
      if (options.all) callback(null, list);
      else callback(null, first.address, first.family);
    });
  };

  return (raw, init = {}) =>
    new Promise<Response>((resolvePromise, reject) => {
      const url = new URL(raw);
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        return reject(new OutboundRefused('scheme', ''));
      const literal = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      if (isIP(literal)) {
        const reason = outboundRefusal(literal, allow);
        if (reason) return reject(new OutboundRefused(reason, literal));
      }
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: init.method ?? 'GET',
          headers: init.headers ?? {},
          lookup: guardedLookup as never,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400 && init.redirect === 'error') {
            res.resume();
            return reject(new TypeError(`redirect refused (HTTP ${status})`));
          }
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
              headers.append(name, v);
          const body = NO_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          if (!body) res.resume();
          try {
            resolvePromise(new Response(body, { status, headers }));
          } catch (error) {
            res.destroy();
            reject(error);
          }
        },
      );
      request.on('error', (error) => reject(init.signal?.aborted ? init.signal.reason : error));
      request.end(init.body);
    });
}

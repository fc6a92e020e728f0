/**
 * HTTP transport of the SDK: JSON over `fetch`, bearer credentials, timeouts via `AbortController`,
 * and the mapping of answers to values or typed errors. Runtime-neutral.
 *
 * @packageDocumentation
 */

import { TesseraApiError, TesseraNetworkError } from './errors.js';
import type { ErrorBody } from './wire.js';

/** The `fetch` signature the client needs (the global one fits). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** A query value; `undefined` values are left out. */
export type QueryValue = string | number | boolean | undefined;

/** One HTTP call. */
export interface CallSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** The answer is text (CSV), returned as is. */
  raw?: boolean;
  credential?: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/** Default per-request timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Strips the `t-` display prefix of a session token; `u-` tokens and bare JWTs pass unchanged.
 *
 * @param credential - a session token (`t-<jwt>` or `<jwt>`) or a UID token
 */
export function bareCredential(credential: string): string {
  return credential.startsWith('t-') ? credential.slice(2) : credential;
}

/** Settings of {@link HttpTransport}. */
export interface HttpTransportOptions {
  url: string;
  fetch: FetchLike;
  timeoutMs: number;
  userAgent: string | undefined;
}

/** Performs calls against one base URL. */
export class HttpTransport {
  readonly url: string;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #userAgent: string | undefined;

  /** @param options - see {@link HttpTransportOptions} */
  constructor(options: HttpTransportOptions) {
    this.url = options.url;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs;
    this.#userAgent = options.userAgent;
  }

  /** Sends one request; resolves with the parsed JSON body (`undefined` for 204), or throws a typed error. */
  async call<T>(spec: CallSpec): Promise<T> {
    const target = this.url + spec.path + queryString(spec.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.credential !== undefined) headers.authorization = `Bearer ${bareCredential(spec.credential)}`;
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#userAgent) headers['user-agent'] = this.#userAgent;

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const onCallerAbort = (): void => controller.abort();
    spec.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (spec.signal?.aborted) controller.abort();
    // Only method and path go into messages: a query could in principle carry data we should not echo.
    const what = `${spec.method} ${spec.path}`;
    try {
      let response: Response;
      try {
        response = await this.#fetch(target, {
          method: spec.method,
          headers,
          body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
          signal: controller.signal,
        });
      } catch (err) {
        throw networkError(what, err, timedOut, this.#timeoutMs);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (err) {
        throw networkError(what, err, timedOut, this.#timeoutMs);
      }
      if (spec.raw && response.ok) return text as T;
      return parseAnswer<T>(response, text, what);
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function networkError(what: string, err: unknown, timedOut: boolean, timeoutMs: number): TesseraNetworkError {
  if (timedOut)
    return new TesseraNetworkError('TESSERA_TIMEOUT', `${what} timed out after ${timeoutMs} ms`, err);
  const reason = err instanceof Error ? describeCause(err) : 'unknown error';
  return new TesseraNetworkError('TESSERA_NETWORK_ERROR', `${what} failed: ${reason}`, err);
}

/** Node's fetch wraps the useful reason (ECONNREFUSED, ENOTFOUND, "bad port"…) in `cause`. */
function describeCause(err: Error): string {
  if (err.name === 'AbortError') return 'aborted';
  const cause = err.cause;
  if (cause && typeof cause === 'object') {
    if ('code' in cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    if (cause instanceof Error && cause.message) return `${err.message} (${cause.message})`;
  }
  return err.message;
}

function parseAnswer<T>(response: Response, text: string, what: string): T {
  const requestId = response.headers.get('x-request-id') ?? undefined;
  if (response.ok) {
    if (response.status === 204 || text.length === 0) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new TesseraApiError(
        response.status,
        'TESSERA_BAD_RESPONSE',
        `${what}: the server sent a body that is not JSON`,
        requestId,
      );
    }
  }
  const body = parseErrorBody(text);
  if (body) return throwApiError(response.status, body, requestId);
  throw new TesseraApiError(
    response.status,
    `TESSERA_HTTP_${response.status}`,
    `${what}: HTTP ${response.status} ${response.statusText}`.trim(),
    requestId,
  );
}

function throwApiError(status: number, body: ErrorBody, fallbackRequestId: string | undefined): never {
  const { code, message, requestId, details } = body.error;
  throw new TesseraApiError(status, code, message, requestId ?? fallbackRequestId, details);
}

function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const error = parsed.error;
      if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
        const message = 'message' in error && typeof error.message === 'string' ? error.message : error.code;
        const requestId =
          'requestId' in error && typeof error.requestId === 'string' ? error.requestId : undefined;
        const details =
          'details' in error && error.details && typeof error.details === 'object'
            ? (error.details as Record<string, unknown>)
            : undefined;
        return {
          error: {
            code: error.code,
            message,
            ...(requestId ? { requestId } : {}),
            ...(details ? { details } : {}),
          },
        };
      }
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}

import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResultSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpError, type McpServerRecord, RPC, type ToolDefinition } from './mcp.model.js';

/** How long one upstream request may take before the caller gets 504. */
export const UPSTREAM_TIMEOUT_MS = 30_000;
/** At most this many pooled upstream clients (per server and upstream credential). */
const POOL_LIMIT = 500;
/** An upstream answer larger than this is refused (502). */
export const UPSTREAM_ANSWER_LIMIT_BYTES = 16 * 1024 * 1024;

const unlimited = new WeakSet<AbortSignal>();

/**
 * `fetch` with a private AbortSignal per request. The SDK's Streamable HTTP transport passes one
 * connection-wide signal to every fetch, and undici adds an abort listener to it per request that
 * only garbage collection removes: a pooled client would gather one listener per call
 * (MaxListenersExceededWarning after 1,500 calls, and the memory with it). The private signal
 * follows the shared one; the link is removed once a JSON answer is in, and kept for an SSE stream
 * (closing the transport must still end it).
 */
export const isolatingFetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
  const parent = init?.signal;
  if (!parent) return fetch(url, init);
  // One link per request in flight (removed when it settles): many in flight is not a leak.
  if (!unlimited.has(parent)) {
    setMaxListeners(0, parent);
    unlimited.add(parent);
  }
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  let keep = false;
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    keep = (response.headers.get('content-type') ?? '').includes('text/event-stream');
    return response;
  } finally {
    if (!keep) parent.removeEventListener('abort', onAbort);
  }
};

interface Entry {
  key: string;
  server: string;
  client: Client;
  /** Streamable HTTP only: the SDK transport (its session id and negotiated protocol version). */
  http: StreamableHTTPClientTransport | null;
  url: URL | null;
  headers: Record<string, string>;
  ready: Promise<void>;
  /** Renew the connection (and its minted credential) after this instant. */
  renewAtMs: number;
  closed: boolean;
}

export interface UpstreamCredential {
  /** Headers to send upstream (never the caller's own). */
  headers: Record<string, string>;
  /** A pool key beside the server's name: callers sharing a credential share a session. */
  key: string;
  /** When the credential must be renewed (minted tokens expire). */
  renewAtMs: number;
}

/**
 * One MCP client per upstream server and upstream credential, connected once and reused: the
 * initialize handshake, the HTTP keep-alive connection (Streamable HTTP) or the child process
 * (stdio) outlive the call. A connection that closes (the process crashed, the upstream dropped the
 * session) is dropped from the pool; the next call reconnects or relaunches.
 */
export function createUpstreamPool(deps: {
  nowMs: () => number;
  onCatalogueChanged: (server: string) => void;
  onProcessExit?: (server: string) => void;
  timeoutMs?: number;
}) {
  const pool = new Map<string, Entry>();
  const timeout = deps.timeoutMs ?? UPSTREAM_TIMEOUT_MS;

  function drop(entry: Entry) {
    if (pool.get(entry.key) === entry) pool.delete(entry.key);
    if (!entry.closed) {
      entry.closed = true;
      entry.client.close().catch(() => {});
    }
  }

  function open(server: McpServerRecord, credential: UpstreamCredential): Entry {
    const key = `${server.name}\u0000${credential.key}`;
    const existing = pool.get(key);
    if (existing && !existing.closed && deps.nowMs() < existing.renewAtMs) return existing;
    if (existing) drop(existing);
    if (pool.size >= POOL_LIMIT) drop(pool.values().next().value as Entry);
    const client = new Client({ name: 'tessera-mcp-gateway', version: '1' }, { capabilities: {} });
    const transport =
      server.transport === 'stdio'
        ? new StdioClientTransport({
            command: server.command?.[0] ?? '',
            args: server.command?.slice(1) ?? [],
            stderr: 'ignore',
          })
        : new StreamableHTTPClientTransport(new URL(server.url!), {
            requestInit: { headers: credential.headers },
            fetch: isolatingFetch,
          });
    const entry: Entry = {
      key,
      server: server.name,
      client,
      http: transport instanceof StreamableHTTPClientTransport ? transport : null,
      url: server.url ? new URL(server.url) : null,
      headers: credential.headers,
      ready: Promise.resolve(),
      renewAtMs: credential.renewAtMs,
      closed: false,
    };
    client.onclose = () => {
      const wasOpen = !entry.closed;
      entry.closed = true;
      if (pool.get(key) === entry) pool.delete(key);
      if (wasOpen && server.transport === 'stdio') deps.onProcessExit?.(server.name);
    };
    client.onerror = () => {};
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () =>
      deps.onCatalogueChanged(server.name),
    );
    entry.ready = client
      .connect(transport, { timeout: Math.max(timeout, server.timeoutMs || 0) })
      .catch((error) => {
        drop(entry);
        throw new McpError(
          RPC.upstream,
          'upstream_unavailable',
          'The upstream MCP server is not reachable.',
          502,
          {
            cause: String((error as Error)?.message ?? error).slice(0, 200),
          },
        );
      });
    pool.set(key, entry);
    return entry;
  }

  /** Maps an SDK failure onto a stable gateway error (the connection is dropped when it may be bad). */
  function failure(entry: Entry, error: unknown): McpError {
    if (error instanceof McpError) return error;
    const e = error as { code?: number; message?: string };
    if (e?.code === -32001 /* SDK RequestTimeout */) {
      drop(entry);
      return new McpError(
        RPC.upstream,
        'upstream_timeout',
        'The upstream MCP server did not answer in time.',
        504,
      );
    }
    // Invalid request/method/params and the implementation-defined range are the upstream's own
    // answer; an internal error (-32603) or anything else is a failure.
    if (
      typeof e?.code === 'number' &&
      ((e.code > -32100 && e.code < -31000) || (e.code >= -32602 && e.code <= -32600)) &&
      e.code !== -32603
    ) {
      // A JSON-RPC error the upstream answered: passed on as is (its code and message).
      return new McpError(
        e.code,
        'upstream_error',
        String(e.message ?? 'Upstream error.').slice(0, 500),
        200,
      );
    }
    drop(entry);
    return new McpError(
      RPC.upstream,
      'upstream_failed',
      'The upstream MCP server failed or answered garbage.',
      502,
      {
        cause: String(e?.message ?? error).slice(0, 200),
      },
    );
  }

  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
  };
  let nextId = 1;

  /**
   * One JSON-RPC request on an HTTP upstream's session, sent on a keep-alive `node:http` agent
   * instead of the SDK transport's `fetch` (ADR 0028: undici's fetch and its web streams cost
   * more CPU per call than the rest of the gateway together). The SDK client still owns the
   * session: `initialize`, the negotiated version, the GET stream that brings
   * `notifications/tools/list_changed`. The answer may be JSON or an SSE stream (MCP Streamable
   * HTTP, 2025-06-18 §transports): the response with this request's id is the result; other
   * messages on the stream (progress, logging) are not the caller's and are dropped.
   */
  function post(entry: Entry, method: string, params: Record<string, unknown>, timeoutMs: number) {
    const id = nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    const url = entry.url!;
    const headers: Record<string, string | number> = {
      ...entry.headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'content-length': Buffer.byteLength(body),
    };
    if (entry.http?.sessionId) headers['mcp-session-id'] = entry.http.sessionId;
    if (entry.http?.protocolVersion) headers['mcp-protocol-version'] = entry.http.protocolVersion;
    const https = url.protocol === 'https:';
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, result?: Record<string, unknown>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(result!);
      };
      const garbage = (cause: string) =>
        new McpError(
          RPC.upstream,
          'upstream_failed',
          'The upstream MCP server failed or answered garbage.',
          502,
          {
            cause: cause.slice(0, 200),
          },
        );
      /** A JSON-RPC message from the upstream: true once it was this request's answer. */
      const answer = (message: unknown): boolean => {
        const m = message as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: unknown };
        if (!m || typeof m !== 'object' || m.jsonrpc !== '2.0' || m.id !== id) return false;
        if (m.error && typeof m.error === 'object') {
          const e = m.error as { code?: unknown; message?: unknown };
          settle(Object.assign(new Error(String(e.message ?? 'Upstream error.')), { code: e.code }));
        } else if (m.result && typeof m.result === 'object' && !Array.isArray(m.result))
          settle(null, m.result as Record<string, unknown>);
        else settle(garbage('a response without a result object'));
        return true;
      };
      const onResponse = (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status === 404 && headers['mcp-session-id']) {
          res.resume();
          return settle(new SessionGone());
        }
        if (status !== 200) {
          res.resume();
          return settle(garbage(`HTTP ${status}`));
        }
        const sse = (res.headers['content-type'] ?? '').includes('text/event-stream');
        let size = 0;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          size += chunk.length;
          if (size > UPSTREAM_ANSWER_LIMIT_BYTES) {
            res.destroy();
            return settle(garbage('the answer is too large'));
          }
          text += chunk;
          if (!sse) return;
          // SSE: events end with a blank line; `data:` lines of one event join with newlines.
          let end = text.search(/\r?\n\r?\n/);
          while (end !== -1 && !settled) {
            const event = text.slice(0, end);
            text = text.slice(end).replace(/^\r?\n\r?\n/, '');
            const data = event
              .split(/\r?\n/)
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5))
              .join('\n');
            if (data) {
              try {
                if (answer(JSON.parse(data))) {
                  // The upstream ends the stream after its answer; one that does not is cut.
                  setTimeout(() => res.destroy(), 5000).unref();
                }
              } catch {
                return settle(garbage('an SSE event that is not JSON'));
              }
            }
            end = text.search(/\r?\n\r?\n/);
          }
        });
        res.on('end', () => {
          if (settled) return;
          if (sse) return settle(garbage('the SSE stream ended without an answer'));
          try {
            if (!answer(JSON.parse(text))) settle(garbage('not the JSON-RPC answer to the request'));
          } catch {
            settle(garbage('the answer is not JSON'));
          }
        });
        res.on('error', (error) => settle(garbage(String(error.message))));
      };
      const req = (https ? httpsRequest : httpRequest)(
        url,
        { method: 'POST', headers, agent: https ? agents.https : agents.http },
        onResponse,
      );
      const timer = setTimeout(() => {
        settle(
          new McpError(
            RPC.upstream,
            'upstream_timeout',
            'The upstream MCP server did not answer in time.',
            504,
          ),
        );
        req.destroy();
        // Tell the upstream to stop working on it (MCP base protocol, cancellation).
        entry.client
          .notification({ method: 'notifications/cancelled', params: { requestId: id, reason: 'timeout' } })
          .catch(() => {});
      }, timeoutMs);
      req.on('error', (error) => settle(garbage(String(error.message))));
      req.end(body);
    });
  }

  async function run<T>(
    server: McpServerRecord,
    credential: UpstreamCredential,
    fn: (c: Client) => Promise<T>,
  ) {
    const entry = open(server, credential);
    try {
      await entry.ready;
      return await fn(entry.client);
    } catch (error) {
      throw failure(entry, error);
    }
  }

  /**
   * One request to the upstream: the lean HTTP path on a Streamable HTTP upstream (a session the
   * upstream forgot is opened again once), the SDK client on a stdio one.
   */
  async function request(
    server: McpServerRecord,
    credential: UpstreamCredential,
    method: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const timeoutMs = server.timeoutMs || timeout;
    if (server.transport === 'stdio')
      return run(server, credential, (client) =>
        client.request({ method, params }, ResultSchema, { timeout: timeoutMs }),
      );
    for (let attempt = 0; ; attempt++) {
      const entry = open(server, credential);
      try {
        await entry.ready;
        return await post(entry, method, params, timeoutMs);
      } catch (error) {
        if (error instanceof SessionGone && attempt === 0) {
          drop(entry);
          continue;
        }
        throw failure(
          entry,
          error instanceof SessionGone ? new Error('the upstream forgot the session') : error,
        );
      }
    }
  }

  return {
    async listTools(server: McpServerRecord, credential: UpstreamCredential): Promise<ToolDefinition[]> {
      const tools: ToolDefinition[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const result = await request(server, credential, 'tools/list', cursor ? { cursor } : {});
        if (!Array.isArray(result.tools))
          throw new McpError(
            RPC.upstream,
            'upstream_failed',
            'The upstream MCP server failed or answered garbage.',
            502,
            {
              cause: 'tools/list without a tools array',
            },
          );
        for (const t of result.tools as Record<string, unknown>[]) {
          if (!t || typeof t.name !== 'string' || typeof t.inputSchema !== 'object' || t.inputSchema === null)
            continue;
          tools.push({
            name: t.name,
            ...(t.title !== undefined ? { title: t.title as string } : {}),
            ...(t.description !== undefined ? { description: t.description as string } : {}),
            inputSchema: t.inputSchema as ToolDefinition['inputSchema'],
            ...(t.annotations !== undefined
              ? { annotations: t.annotations as ToolDefinition['annotations'] }
              : {}),
          });
        }
        cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
        if (!cursor) break;
      }
      return tools;
    },
    async callTool(
      server: McpServerRecord,
      credential: UpstreamCredential,
      name: string,
      args: Record<string, unknown>,
    ): Promise<Record<string, unknown>> {
      const result = await request(server, credential, 'tools/call', { name, arguments: args });
      if (result.content !== undefined && !Array.isArray(result.content))
        throw new McpError(
          RPC.upstream,
          'upstream_failed',
          'The upstream MCP server failed or answered garbage.',
          502,
          {
            cause: 'tools/call content is not an array',
          },
        );
      return result;
    },
    /** Any other request (resources/*, prompts/*), answered as the upstream answered it. */
    request,
    /** Closes every connection of a server (removed, or its address changed). */
    closeServer(name: string) {
      for (const entry of [...pool.values()]) if (entry.server === name) drop(entry);
    },
    size: () => pool.size,
    async closeAll() {
      await Promise.all([...pool.values()].map(async (e) => drop(e)));
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

export type UpstreamPool = ReturnType<typeof createUpstreamPool>;

/** The upstream dropped the session (404 on a request that carried `Mcp-Session-Id`). */
class SessionGone extends Error {}

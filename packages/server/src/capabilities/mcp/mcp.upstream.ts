import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpError, type McpServerRecord, RPC, type ToolDefinition } from './mcp.model.js';

/** How long one upstream request may take before the caller gets 504. */
export const UPSTREAM_TIMEOUT_MS = 30_000;
/** At most this many pooled upstream clients (per server and upstream credential). */
const POOL_LIMIT = 500;

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
    if (typeof e?.code === 'number' && e.code > -32100 && e.code < -31000 && e.code !== -32603) {
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

  return {
    async listTools(server: McpServerRecord, credential: UpstreamCredential): Promise<ToolDefinition[]> {
      return run(server, credential, async (client) => {
        const tools: ToolDefinition[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 50; page++) {
          const result = await client.listTools(cursor ? { cursor } : {}, {
            timeout: server.timeoutMs || timeout,
          });
          for (const t of result.tools) {
            tools.push({
              name: t.name,
              ...(t.title !== undefined ? { title: t.title } : {}),
              ...(t.description !== undefined ? { description: t.description } : {}),
              inputSchema: t.inputSchema,
              ...(t.annotations !== undefined ? { annotations: t.annotations } : {}),
            });
          }
          cursor = result.nextCursor;
          if (!cursor) break;
        }
        return tools;
      });
    },
    async callTool(
      server: McpServerRecord,
      credential: UpstreamCredential,
      name: string,
      args: Record<string, unknown>,
    ): Promise<Record<string, unknown>> {
      return run(
        server,
        credential,
        (client) =>
          client.callTool({ name, arguments: args }, undefined, {
            timeout: server.timeoutMs || timeout,
          }) as Promise<Record<string, unknown>>,
      );
    },
    /** Closes every connection of a server (removed, or its address changed). */
    closeServer(name: string) {
      for (const entry of [...pool.values()]) if (entry.server === name) drop(entry);
    },
    size: () => pool.size,
    async closeAll() {
      await Promise.all([...pool.values()].map(async (e) => drop(e)));
    },
  };
}

export type UpstreamPool = ReturnType<typeof createUpstreamPool>;

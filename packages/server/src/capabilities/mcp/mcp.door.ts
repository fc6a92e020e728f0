import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionClaims } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { CredentialFactory } from '../../core/shared/platform.port.js';
import {
  type DoorAccessDeps,
  defaultBodyLimit,
  type FrontDoor,
  installDoorAccess,
} from '../../http/doors/door.js';
import { classifyError, setRetryAfter } from '../../http/error-mapper.js';
import { LEGACY_VERSIONS, McpError, MODERN_VERSION, RPC } from './mcp.model.js';
import type { Caller, McpService } from './mcp.service.js';

/** One JSON-RPC message at most this large. */
export const MCP_BODY_LIMIT_BYTES = 1024 * 1024;
const SESSION_IDLE_MS = 60 * 60 * 1000;
const SESSION_LIMIT = 10_000;
const LATEST_LEGACY = '2025-11-25';
/** Methods whose target is named in `Mcp-Name` (2026-07-28). */
const NAMED: Record<string, 'name' | 'uri'> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

interface Session {
  server: string;
  subject: string;
  protocolVersion: string;
  clientInfo: { name?: string; version?: string } | null;
  lastUsedMs: number;
}

type Id = string | number | null;

const rpcError = (id: Id, code: number, message: string, data?: Record<string, unknown>) => ({
  jsonrpc: '2.0' as const,
  id,
  error: { code, message, ...(data ? { data } : {}) },
});

function bearer(request: FastifyRequest): string | null {
  const m = /^Bearer[ \t]+(\S{1,4096})[ \t]*$/i.exec(request.headers.authorization ?? '');
  return m ? m[1]! : null;
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? null : (v ?? null));

/** 2026-07-28 header values may be `=?base64?…?=`-encoded. */
function headerValue(v: string | null): string | null {
  if (v === null) return null;
  const m = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(v);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : v;
}

/**
 * The MCP gateway's door (issue 15, ADR 0017): `/mcp/NAME`, Streamable HTTP, JSON-RPC answered as
 * JSON. An OAuth protected resource (RFC 9728): the token's audience must be this URL; the token
 * is checked on every request (sessions are not authentication). Both eras: 2025-06-18/2025-11-25
 * (initialize, `Mcp-Session-Id` bound to the caller) and 2026-07-28 (stateless, `Mcp-Method` and
 * `Mcp-Name` checked against the body).
 */
export function mcpDoor(
  access: DoorAccessDeps,
  deps: {
    mcp: McpService;
    sessions: SessionsService;
    credentials: CredentialFactory;
    issuer: string;
    nowMs: () => number;
  },
): FrontDoor {
  const { mcp } = deps;
  const sessions = new Map<string, Session>();
  const metadataUrl = (name: string) => `${deps.issuer}/.well-known/oauth-protected-resource/mcp/${name}`;

  function prune(now: number) {
    if (sessions.size < SESSION_LIMIT) return;
    for (const [id, s] of sessions) if (now - s.lastUsedMs > SESSION_IDLE_MS) sessions.delete(id);
    if (sessions.size >= SESSION_LIMIT) sessions.delete(sessions.keys().next().value as string);
  }

  function challenge(
    reply: FastifyReply,
    name: string,
    status: 401 | 403,
    error: string | null,
    scope: string[],
    description: string,
  ) {
    const parts = [
      ...(error ? [`error="${error}"`] : []),
      ...(scope.length ? [`scope="${scope.join(' ')}"`] : []),
      `resource_metadata="${metadataUrl(name)}"`,
      ...(error ? [`error_description="${description}"`] : []),
    ];
    reply.header('www-authenticate', `Bearer ${parts.join(', ')}`);
    return reply.status(status).send({ error: error ?? 'invalid_token', error_description: description });
  }

  /** The caller's verified claims, or null once a challenge was sent. */
  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
  ): Promise<SessionClaims | null> {
    const server = await mcp.get(name);
    const token = bearer(request);
    if (!token) {
      challenge(
        reply,
        name,
        401,
        null,
        server.requiredScopes,
        'A bearer token for this MCP server is required.',
      );
      return null;
    }
    let claims: SessionClaims;
    try {
      claims = await deps.sessions.verify(
        token,
        { scheme: 'Bearer', method: request.method, url: mcp.resourceOf(name) },
        mcp.resourceOf(name),
      );
    } catch (error) {
      request.log.info({ reason: (error as { details?: unknown }).details ?? null }, 'mcp token refused');
      challenge(
        reply,
        name,
        401,
        'invalid_token',
        server.requiredScopes,
        'The token is not valid for this MCP server.',
      );
      return null;
    }
    const scopes = new Set((claims.scope ?? '').split(' ').filter(Boolean));
    const missing = server.requiredScopes.filter((s) => !scopes.has(s));
    if (missing.length) {
      challenge(
        reply,
        name,
        403,
        'insufficient_scope',
        server.requiredScopes,
        'The token lacks a scope this MCP server requires.',
      );
      return null;
    }
    request.ctx.actor = { identityId: claims.sub, authMethodId: claims.am };
    return claims;
  }

  async function handle(request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) {
    const name = request.params.name;
    const claims = await authenticate(request, reply, name);
    if (!claims) return reply;
    const raw = request.body as { text?: string } | undefined;
    let message: unknown;
    try {
      message = JSON.parse(raw?.text ?? '');
    } catch {
      return reply
        .status(400)
        .send(
          rpcError(null, RPC.parseError, 'Parse error: the body is not JSON.', { code: 'mcp_parse_error' }),
        );
    }
    if (Array.isArray(message))
      return reply
        .status(400)
        .send(
          rpcError(null, RPC.invalidRequest, 'JSON-RPC batches are not supported.', { code: 'mcp_batch' }),
        );
    const m = message as {
      jsonrpc?: unknown;
      id?: unknown;
      method?: unknown;
      params?: unknown;
      result?: unknown;
      error?: unknown;
    };
    if (!m || typeof m !== 'object' || m.jsonrpc !== '2.0')
      return reply
        .status(400)
        .send(
          rpcError(null, RPC.invalidRequest, 'Not a JSON-RPC 2.0 message.', { code: 'mcp_invalid_request' }),
        );
    const idOk =
      m.id === undefined || typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id));
    const id: Id = idOk && m.id !== undefined ? (m.id as string | number) : null;
    if (
      !idOk ||
      (m.method !== undefined && typeof m.method !== 'string') ||
      (m.params !== undefined &&
        (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params)))
    )
      return reply
        .status(400)
        .send(
          rpcError(null, RPC.invalidRequest, 'Malformed JSON-RPC message.', { code: 'mcp_invalid_request' }),
        );
    const method = m.method as string | undefined;
    const params = (m.params ?? {}) as Record<string, unknown>;

    const version = single(request.headers['mcp-protocol-version']);
    const modern = version === MODERN_VERSION;
    if (version !== null && !modern && !(LEGACY_VERSIONS as readonly string[]).includes(version))
      return reply.status(400).send(
        rpcError(id, RPC.unsupportedVersion, `Unsupported MCP-Protocol-Version ${version.slice(0, 20)}.`, {
          code: 'mcp_unsupported_version',
          supported: [...LEGACY_VERSIONS, MODERN_VERSION],
        }),
      );

    let session: Session | null = null;
    let sessionId: string | null = null;
    if (modern) {
      // 2026-07-28: the routing headers are trusted only once they agree with the body.
      if (method === undefined)
        return reply.status(400).send(
          rpcError(id, RPC.invalidRequest, 'Clients must not send responses in 2026-07-28.', {
            code: 'mcp_invalid_request',
          }),
        );
      const headerMethod = headerValue(single(request.headers['mcp-method']));
      const field = NAMED[method];
      const headerName = headerValue(single(request.headers['mcp-name']));
      const bodyName = field ? params[field] : undefined;
      const metaVersion = (params._meta as Record<string, unknown> | undefined)?.[
        'io.modelcontextprotocol/protocolVersion'
      ];
      const mismatch =
        headerMethod !== method
          ? 'Mcp-Method'
          : field && (typeof bodyName !== 'string' || headerName !== bodyName)
            ? 'Mcp-Name'
            : metaVersion !== undefined && metaVersion !== version
              ? 'MCP-Protocol-Version'
              : null;
      if (mismatch)
        return reply.status(400).send(
          rpcError(id, RPC.headerMismatch, `The ${mismatch} header does not match the body.`, {
            code: 'mcp_header_mismatch',
            header: mismatch,
          }),
        );
    } else if (method !== 'initialize') {
      sessionId = single(request.headers['mcp-session-id']);
      if (!sessionId)
        return reply.status(400).send(
          rpcError(id, RPC.invalidRequest, 'Mcp-Session-Id is required: initialize first.', {
            code: 'mcp_session_required',
          }),
        );
      session = sessions.get(sessionId) ?? null;
      // A session belongs to the caller that opened it, on that server (sessions are not authentication).
      if (!session || session.subject !== claims.sub || session.server !== name)
        return reply.status(404).send(
          rpcError(id, RPC.invalidRequest, 'Unknown or expired session: initialize again.', {
            code: 'mcp_session_unknown',
          }),
        );
      session.lastUsedMs = deps.nowMs();
    }

    // Notifications and responses get 202 (legacy era).
    if (id === null && m.id === undefined) return reply.status(202).send();
    if (method === undefined) return reply.status(202).send();

    const caller: Caller = {
      claims,
      principal: deps.sessions.toPrincipal(claims),
      sessionId,
      traceparent: single(request.headers.traceparent),
      clientInfo: modern
        ? (((params._meta as Record<string, unknown> | undefined)?.[
            'io.modelcontextprotocol/clientInfo'
          ] as Session['clientInfo']) ?? null)
        : (session?.clientInfo ?? null),
      ctx: request.ctx,
    };
    const done = (result: Record<string, unknown>) =>
      reply
        .status(200)
        .send({ jsonrpc: '2.0', id, result: modern ? { ...result, resultType: 'complete' } : result });
    try {
      switch (method) {
        case 'initialize': {
          if (modern)
            return reply
              .status(400)
              .send(
                rpcError(
                  id,
                  RPC.methodNotFound,
                  'initialize does not exist in 2026-07-28: use server/discover.',
                  { code: 'mcp_unknown_method' },
                ),
              );
          const asked = typeof params.protocolVersion === 'string' ? params.protocolVersion : LATEST_LEGACY;
          const negotiated = (LEGACY_VERSIONS as readonly string[]).includes(asked) ? asked : LATEST_LEGACY;
          const newId = deps.credentials.newId('mcps-', 32);
          prune(deps.nowMs());
          const info = params.clientInfo as Session['clientInfo'];
          sessions.set(newId, {
            server: name,
            subject: claims.sub,
            protocolVersion: negotiated,
            clientInfo:
              info && typeof info === 'object'
                ? {
                    name: String(info.name ?? '').slice(0, 100),
                    version: String(info.version ?? '').slice(0, 50),
                  }
                : null,
            lastUsedMs: deps.nowMs(),
          });
          reply.header('mcp-session-id', newId);
          return done({
            protocolVersion: negotiated,
            capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} },
            serverInfo: { name: `tessera-mcp-gateway/${name}`, version: '1' },
          });
        }
        case 'server/discover':
          return done({
            supportedVersions: [MODERN_VERSION, ...LEGACY_VERSIONS],
            capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} },
            serverInfo: { name: `tessera-mcp-gateway/${name}`, version: '1' },
          });
        case 'ping':
          return done({});
        case 'tools/list':
          return done({
            tools: await mcp.listTools(name, caller),
            ...(modern ? { cacheScope: 'private' } : {}),
          });
        case 'tools/call': {
          const tool = params.name;
          const args = params.arguments ?? {};
          if (typeof tool !== 'string' || tool.length === 0 || tool.length > 128)
            throw new McpError(RPC.invalidParams, 'mcp_invalid_params', 'params.name must be a tool name.');
          if (typeof args !== 'object' || args === null || Array.isArray(args))
            throw new McpError(
              RPC.invalidParams,
              'mcp_invalid_params',
              'params.arguments must be an object.',
            );
          return done(
            await mcp.callTool(
              name,
              caller,
              tool,
              args as Record<string, unknown>,
              params._meta as Record<string, unknown> | undefined,
            ),
          );
        }
        case 'resources/list':
        case 'resources/templates/list':
        case 'prompts/list':
          return done({
            ...(await mcp.listItems(name, caller, method, params.cursor)),
            ...(modern ? { cacheScope: 'private' } : {}),
          });
        case 'resources/read':
        case 'prompts/get':
          return done(await mcp.getItem(name, caller, method, params));
        default:
          return reply.status(200).send(
            rpcError(id, RPC.methodNotFound, `Method not found: ${method.slice(0, 64)}`, {
              code: 'mcp_unknown_method',
            }),
          );
      }
    } catch (error) {
      if (error instanceof McpError)
        return reply
          .status(error.httpStatus)
          .send(rpcError(id, error.rpcCode, error.message, { code: error.code, ...error.data }));
      throw error;
    }
  }

  return {
    name: 'mcp',
    errorProtocol: 'jsonrpc',
    prefix: '/mcp',
    renderFrameworkError: renderError,
    register(scope: FastifyInstance) {
      scope.removeAllContentTypeParsers();
      // The raw text: parse errors are JSON-RPC errors, not Fastify's.
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
        done(null, { text: body }),
      );
      defaultBodyLimit(scope, MCP_BODY_LIMIT_BYTES);
      installDoorAccess(scope, access);
      scope.setErrorHandler((error, request, reply) => renderError(error, request, reply));
      scope.setNotFoundHandler((_request, reply) =>
        reply
          .status(404)
          .send(rpcError(null, RPC.invalidRequest, 'No such MCP endpoint.', { code: 'mcp_not_found' })),
      );
      // The door authenticates each request itself (RFC 9728 challenge, audience = this URL).
      const config = { access: { public: true as const } };
      const params = {
        type: 'object',
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', minLength: 1, maxLength: 63 },
        },
        required: ['name'],
      };
      const schema = (summary: string) => ({ tags: ['mcp'], summary, params, security: [] });
      scope.post(
        '/:name',
        { config, schema: schema('MCP gateway endpoint (Streamable HTTP, JSON-RPC)') },
        handle as never,
      );
      scope.get('/:name', { config, schema: schema('No SSE stream: 405') }, async (_request, reply) =>
        reply
          .status(405)
          .header('allow', 'POST, DELETE')
          .send(
            rpcError(
              null,
              RPC.invalidRequest,
              'This gateway answers POSTs with JSON; there is no SSE stream.',
              { code: 'mcp_method_not_allowed' },
            ),
          ),
      );
      scope.delete(
        '/:name',
        { config, schema: schema('End an MCP session (2025-era)') },
        async (request, reply) => {
          const name = (request.params as { name: string }).name;
          const claims = await authenticate(request, reply, name);
          if (!claims) return reply;
          const id = single(request.headers['mcp-session-id']);
          const session = id ? sessions.get(id) : undefined;
          if (!id || !session || session.subject !== claims.sub || session.server !== name)
            return reply
              .status(404)
              .send(rpcError(null, RPC.invalidRequest, 'Unknown session.', { code: 'mcp_session_unknown' }));
          sessions.delete(id);
          return reply.status(204).send();
        },
      );
    },
  };
}

function renderError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error: e, status } = classifyError(error, request);
  setRetryAfter(reply, e, status);
  if (status === 503)
    return reply.status(503).send(rpcError(null, RPC.internal, e.message, { code: e.code }));
  if (status >= 500) {
    request.log.error({ err: error }, 'mcp gateway error');
    return reply.status(500).send(rpcError(null, RPC.internal, 'Internal error.', { code: 'internal' }));
  }
  return reply.status(status).send(
    rpcError(null, status === 413 ? RPC.invalidRequest : RPC.invalidRequest, e.message, {
      code: (e as { code?: string }).code ?? 'mcp_bad_request',
    }),
  );
}

import type { AccessService } from '../../core/access/access.service.js';
import type { SecretsService } from '../../core/secrets/secrets.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { TypedApp } from '../../http/app.js';
import type { DoorAccessDeps, FrontDoor } from '../../http/doors/door.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { mcpServerConfigKind } from './mcp.config-kind.js';
import { mcpDoor } from './mcp.door.js';
import type { ApprovalsPort } from './mcp.model.js';
import { createMcpCallStateRepo, createMcpServersRepo, mcpMigrations, reserveOn } from './mcp.repo.js';
import { registerMcpMetadataRoutes, registerMcpRoutes } from './mcp.routes.js';
import { createMcpService, type McpService } from './mcp.service.js';
import { createUpstreamPool } from './mcp.upstream.js';

/**
 * The MCP gateway (issue 15, ADR 0017): upstream MCP servers registered with an owner identity,
 * their pinned tool catalogues and tool policies (`/v1/mcp-servers`), and the `/mcp/NAME` door
 * agents connect to. `approvals` is the approvals capability (notes/approvals-api.md); without it
 * high-impact tools are refused.
 */
export function createMcpModule(
  platform: Platform,
  deps: {
    sessions: SessionsService;
    access: AccessService;
    secrets: SecretsService;
    approvals: ApprovalsPort | null;
  },
): CapabilityModule<{ mcp: McpService }> & { door: (access: DoorAccessDeps) => FrontDoor } {
  const { uow, clock, credentials, config, log } = platform;
  const { writeNow } = uow;
  platform.storage.contribute({
    name: 'mcp',
    migrations: mcpMigrations,
    repos: { mcpServers: createMcpServersRepo, mcpCallState: createMcpCallStateRepo },
  });
  const issuer = config.issuer.replace(/\/+$/, '');
  let mcp: McpService | null = null;
  const pool = createUpstreamPool({
    nowMs: () => clock.nowMs(),
    onCatalogueChanged: (server) => mcp?.catalogueChanged(server),
    onProcessExit: (server) =>
      mcp?.record(
        {
          type: 'mcp.upstream_exited',
          outcome: 'failure',
          actor: {},
          resource: `/mcp/${server}`,
          reason: 'process_exited',
          data: { server },
        },
        { requestId: 'mcp-gateway', sourceIp: '127.0.0.1', userAgent: null, actor: null },
      ),
  });
  // Metrics per server and tool (issue 15). Label values are the servers and pinned tools seen,
  // bounded: past the bound, and for any name that is not a pinned tool, the value is `other`.
  const serverNames = new Set<string>();
  const toolNames = new Set<string>();
  const calls = platform.metrics.registry.counter({
    name: 'tessera_mcp_tool_calls_total',
    help: 'MCP gateway tools/call requests by server, tool and outcome (success, denied, failure).',
    labels: { server: serverNames, tool: toolNames, outcome: ['success', 'denied', 'failure'] },
  });
  const durations = platform.metrics.registry.histogram({
    name: 'tessera_mcp_tool_call_duration_seconds',
    help: 'Time of an allowed tools/call at the gateway, the upstream round trip included.',
    labels: { server: serverNames, tool: toolNames },
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const onCall = (c: { server: string; tool: string | null; outcome: string; seconds: number | null }) => {
    if (serverNames.size < 200) serverNames.add(c.server);
    if (c.tool !== null && toolNames.size < 1000) toolNames.add(c.tool);
    const labels = { server: c.server, tool: c.tool ?? 'other' };
    calls.inc({ ...labels, outcome: c.outcome });
    if (c.seconds !== null) durations.observe(labels, c.seconds);
  };
  mcp = createMcpService({
    onCall,
    uow,
    clock,
    credentials,
    sessions: deps.sessions,
    access: deps.access,
    secrets: deps.secrets,
    pool,
    approvals: deps.approvals,
    // SQLite: sequence and rate state reserved in its own unsynced transaction (ADR 0045, ADR 0051).
    ...(writeNow
      ? { reserveNow: (keys, decide) => writeNow((direct) => reserveOn(direct, keys, decide)) }
      : {}),
    issuer,
    auditGate: () => platform.delivery.refusal(),
    onAuditError: (error) => log.error({ err: error }, 'mcp audit write failed'),
  });
  const service = mcp;
  // Target conditions in the roles model (ADR 0042): an `mcp-tool:/<server>/…` rule's target is
  // the upstream server's identity, its owner and tags.
  deps.access.registerTarget('mcp-tool', async (r, path) => {
    const name = path.split('/')[1] ?? '';
    const server = await r.mcpServers.get(name);
    const identity = server ? await r.identities.get(server.identityId) : null;
    return identity && identity.state === 'active' ? { owner: identity.owner, tags: identity.tags } : null;
  });
  // `tessera access explain` of a `call` on `mcp-tool:/<server>/<tool>`: the gateway's own stages;
  // an agent's token for that server's gateway URL may ask it of its own calls there.
  deps.access.registerCallExplainer(
    'mcp-tool',
    (call) => service.explainCall(call),
    (path) => {
      const name = /^\/([a-z0-9][a-z0-9-]{0,62})\/[^/]+$/.exec(path)?.[1];
      return name ? service.resourceOf(name) : null;
    },
  );
  // Identity as code (issue 17, ADR 0037): servers and their tool policies; the `/mcp/<name>`
  // identity of each is the server's own, declared through `mcpServers`, never `identities`.
  platform.configKinds.register(
    mcpServerConfigKind({ credentials, onChanged: (name) => service.invalidate(name) }),
  );
  platform.configKinds.ownedByServer(
    'identities',
    (spec) => spec.kind === 'mcp-server' && typeof spec.name === 'string' && spec.name.startsWith('/mcp/'),
  );
  return {
    name: 'mcp',
    services: { mcp: service },
    routes: {
      native: (app: TypedApp) => registerMcpRoutes(app, { mcp: service }),
      system: (app: TypedApp) => registerMcpMetadataRoutes(app, { mcp: service, issuer }),
    },
    door: (access) =>
      mcpDoor(access, {
        mcp: service,
        sessions: deps.sessions,
        credentials,
        issuer,
        nowMs: () => clock.nowMs(),
      }),
    async close() {
      await service.flushAudit();
      await pool.closeAll();
    },
  };
}

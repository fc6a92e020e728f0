import type { AccessService } from '../../core/access/access.service.js';
import type { SecretsService } from '../../core/secrets/secrets.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { TypedApp } from '../../http/app.js';
import type { DoorAccessDeps, FrontDoor } from '../../http/doors/door.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { mcpDoor } from './mcp.door.js';
import type { ApprovalsPort } from './mcp.model.js';
import { createMcpServersRepo, mcpMigrations } from './mcp.repo.js';
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
  platform.storage.contribute({
    name: 'mcp',
    migrations: mcpMigrations,
    repos: { mcpServers: createMcpServersRepo },
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
          data: { server },
        },
        { requestId: 'mcp-gateway', sourceIp: '127.0.0.1', userAgent: null, actor: null },
      ),
  });
  mcp = createMcpService({
    uow,
    clock,
    credentials,
    sessions: deps.sessions,
    access: deps.access,
    secrets: deps.secrets,
    pool,
    approvals: deps.approvals,
    issuer,
    onAuditError: (error) => log.error({ err: error }, 'mcp audit write failed'),
  });
  const service = mcp;
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

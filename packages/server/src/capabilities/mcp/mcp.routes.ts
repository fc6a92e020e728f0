import { type Static, Type } from '@sinclair/typebox';
import { MAX_TARGET_TAGS, TARGET_OWNERS } from '../../core/access/access.conditions.js';
import type { Resource } from '../../core/access/access.policy.js';
import { IsoTime, Nullable, StringEnum, toIso } from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { CatalogueEntry } from './mcp.catalogue.js';
import type { McpServerRecord } from './mcp.model.js';
import { ARG_OPERATORS, type ServerPolicy } from './mcp.policy.js';
import type { McpService } from './mcp.service.js';

const tags = ['mcp'];
export const ServerName = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]*$',
  minLength: 1,
  maxLength: 63,
  description: 'The gateway path: /mcp/NAME.',
});
const Short = Type.String({ minLength: 1, maxLength: 200 });
const Labels = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 20 });

export const UpstreamAuthSchema = Type.Union([
  Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object(
    {
      kind: Type.Literal('secret'),
      item: Short,
      header: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('token-exchange'),
      audience: Type.String({ minLength: 1, maxLength: 512 }),
      scope: Type.Optional(Short),
    },
    { additionalProperties: false },
  ),
]);

const ArgConditionSchema = Type.Object(
  {
    arg: Type.String({ minLength: 1, maxLength: 128 }),
    op: StringEnum(ARG_OPERATORS),
    value: Type.Optional(
      Type.Union([
        Type.String({ maxLength: 512 }),
        Type.Number(),
        Type.Boolean(),
        Type.Array(Type.Union([Type.String({ maxLength: 512 }), Type.Number()]), { maxItems: 200 }),
      ]),
    ),
  },
  { additionalProperties: false },
);
export const PolicySchema = Type.Object(
  {
    rules: Type.Array(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 64 }),
          tool: Type.String({ minLength: 1, maxLength: 200 }),
          effect: StringEnum(['allow', 'deny'] as const),
          when: Type.Optional(
            Type.Object(
              {
                args: Type.Optional(Type.Array(ArgConditionSchema, { maxItems: 20 })),
                maxHops: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
                delegated: Type.Optional(Type.Boolean()),
                callers: Type.Optional(Type.Array(Short, { maxItems: 50 })),
                after: Type.Optional(Labels),
                afterWithinSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
                rate: Type.Optional(
                  Type.Object(
                    {
                      max: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
                      windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
                    },
                    { additionalProperties: false },
                  ),
                ),
                hours: Type.Optional(
                  Type.Object(
                    {
                      fromHour: Type.Integer({ minimum: 0, maximum: 23 }),
                      toHour: Type.Integer({ minimum: 1, maximum: 24 }),
                    },
                    { additionalProperties: false },
                  ),
                ),
                target: Type.Optional(
                  Type.Object(
                    {
                      arg: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
                      owner: Type.Optional(StringEnum(TARGET_OWNERS)),
                      tags: Type.Optional(
                        Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
                          maxItems: MAX_TARGET_TAGS,
                        }),
                      ),
                    },
                    {
                      additionalProperties: false,
                      description:
                        'Owner and tags of the target: the upstream server identity, or with `arg` the inventory identity that argument names (ADR 0042).',
                    },
                  ),
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { maxItems: 200 },
    ),
    tools: Type.Record(
      Type.String({ maxLength: 128 }),
      Type.Object(
        {
          labels: Type.Optional(Labels),
          highImpact: Type.Optional(Type.Boolean()),
          logArguments: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export const Scopes = Type.Array(
  Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }),
  { maxItems: 20 },
);

const ServerSchema = Type.Object(
  {
    name: Type.String(),
    endpoint: Type.String({ description: 'The gateway URL agents connect to (the token audience).' }),
    identityId: Type.String(),
    transport: StringEnum(['http', 'stdio'] as const),
    url: Nullable(Type.String()),
    command: Nullable(Type.Array(Type.String())),
    upstreamAuth: UpstreamAuthSchema,
    requiredScopes: Type.Array(Type.String()),
    timeoutSeconds: Type.Integer(),
    policy: PolicySchema,
    pinnedTools: Type.Array(Type.Object({ name: Type.String(), hash: Type.String(), approvedAt: IsoTime })),
    createdAt: IsoTime,
    updatedAt: IsoTime,
  },
  { $id: 'McpServer' },
);
const CatalogueSchema = Type.Object({
  tools: Type.Array(
    Type.Object({
      name: Type.String(),
      status: StringEnum(['approved', 'changed', 'new', 'removed'] as const),
      hash: Nullable(Type.String()),
      pinnedHash: Nullable(Type.String()),
      description: Nullable(Type.String()),
    }),
  ),
});
const Params = Type.Object({ name: ServerName });

function toWire(s: McpServerRecord, mcp: McpService): Static<typeof ServerSchema> {
  return {
    name: s.name,
    endpoint: mcp.resourceOf(s.name),
    identityId: s.identityId,
    transport: s.transport,
    url: s.url,
    command: s.command,
    upstreamAuth: s.upstreamAuth,
    requiredScopes: s.requiredScopes,
    timeoutSeconds: Math.round(s.timeoutMs / 1000),
    policy: s.policy as Static<typeof PolicySchema>,
    pinnedTools: Object.entries(s.pinned)
      .map(([name, p]) => ({ name, hash: p.hash, approvedAt: toIso(p.approvedAtMs) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    createdAt: toIso(s.createdAtMs),
    updatedAt: toIso(s.updatedAtMs),
  };
}

const catalogueWire = (entries: CatalogueEntry[]) => ({
  tools: entries.map((e) => ({
    name: e.name,
    status: e.status,
    hash: e.hash,
    pinnedHash: e.pinnedHash,
    description: e.definition?.description ?? null,
  })),
});

/** An MCP server is checked as `mcp-tool:/<name>` (its tools are `/<name>/<tool>`). */
const serverResource = (name: string): Resource => ({ type: 'mcp-tool', path: `/${name}` });
const byParam = (r: { params: unknown }) => serverResource((r.params as { name: string }).name);

/** `/v1/mcp-servers`: the gateway's upstream registry (issue 15). */
export function registerMcpRoutes(app: TypedApp, deps: { mcp: McpService }) {
  const { mcp } = deps;
  app.addSchema(ServerSchema);

  app.post(
    '/v1/mcp-servers',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => serverResource((r.body as { name: string }).name),
          },
        },
      },
      schema: {
        tags,
        summary: 'Register an upstream MCP server behind the gateway',
        body: Type.Object(
          {
            name: ServerName,
            url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
            command: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 64 }),
            ),
            owner: Short,
            upstreamAuth: Type.Optional(UpstreamAuthSchema),
            requiredScopes: Type.Optional(Scopes),
            policy: Type.Optional(PolicySchema),
            timeoutSeconds: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 300, description: 'Per upstream request; default 30.' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('McpServer'), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const s = await mcp.add(request.body as never, request.ctx);
      reply.status(201);
      return toWire(s, mcp);
    },
  );

  app.get(
    '/v1/mcp-servers',
    {
      config: {
        access: { permission: { action: 'list', resource: () => ({ type: 'mcp-tool', path: '/*' }) } },
      },
      schema: {
        tags,
        summary: 'List the MCP servers behind the gateway',
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('McpServer')) }),
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({ items: (await mcp.list()).map((s) => toWire(s, mcp)) }),
  );

  app.get(
    '/v1/mcp-servers/:name',
    {
      config: { access: { permission: { action: 'read', resource: byParam } } },
      schema: {
        tags,
        summary: 'Get an MCP server',
        params: Params,
        response: { 200: Type.Ref('McpServer'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await mcp.get(request.params.name), mcp),
  );

  app.patch(
    '/v1/mcp-servers/:name',
    {
      config: { access: { permission: { action: 'update', resource: byParam } } },
      schema: {
        tags,
        summary:
          "Change an MCP server's tool policy (rules, tool labels, high-impact tools) or required scopes",
        params: Params,
        body: Type.Object(
          { policy: Type.Optional(PolicySchema), requiredScopes: Type.Optional(Scopes) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('McpServer'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      toWire(
        await mcp.update(
          request.params.name,
          {
            policy: request.body.policy as ServerPolicy | undefined,
            requiredScopes: request.body.requiredScopes,
          },
          request.ctx,
        ),
        mcp,
      ),
  );

  app.get(
    '/v1/mcp-servers/:name/tools',
    {
      config: { access: { permission: { action: 'read', resource: byParam } } },
      schema: {
        tags,
        summary: "The upstream's tool catalogue against the pinned one (approved, changed, new, removed)",
        params: Params,
        response: { 200: CatalogueSchema, ...errorResponses(400, 401, 403, 404, 502, 504) },
      },
    },
    async (request) => catalogueWire(await mcp.tools(request.params.name)),
  );

  app.post(
    '/v1/mcp-servers/:name/approve-tools',
    {
      config: { access: { permission: { action: 'update', resource: byParam } } },
      schema: {
        tags,
        summary: 'Pin the current definitions of new or changed tools (all, or the ones named)',
        params: Params,
        body: Type.Object(
          {
            tools: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 500 }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: CatalogueSchema, ...errorResponses(400, 401, 403, 404, 502, 504) },
      },
    },
    async (request) =>
      catalogueWire(await mcp.approveTools(request.params.name, request.body.tools, request.ctx)),
  );

  app.delete(
    '/v1/mcp-servers/:name',
    {
      config: { access: { permission: { action: 'delete', resource: byParam } } },
      schema: {
        tags,
        summary: 'Remove an MCP server from the gateway',
        params: Params,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await mcp.remove(request.params.name, request.ctx);
      return reply.status(204).send();
    },
  );
}

/** RFC 9728 metadata of each gateway endpoint: `/.well-known/oauth-protected-resource/mcp/NAME`. */
export function registerMcpMetadataRoutes(app: TypedApp, deps: { mcp: McpService; issuer: string }) {
  app.get(
    '/.well-known/oauth-protected-resource/mcp/:name',
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'OAuth protected resource metadata of an MCP gateway endpoint (RFC 9728)',
        security: [],
        params: Params,
        response: {
          200: Type.Object({
            resource: Type.String(),
            authorization_servers: Type.Array(Type.String()),
            scopes_supported: Type.Array(Type.String()),
            bearer_methods_supported: Type.Array(Type.String()),
            resource_name: Type.String(),
          }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request) => {
      const s = await deps.mcp.get(request.params.name);
      return {
        resource: deps.mcp.resourceOf(s.name),
        authorization_servers: [deps.issuer],
        scopes_supported: s.requiredScopes,
        bearer_methods_supported: ['header'],
        resource_name: `MCP server ${s.name} (Tessera gateway)`,
      };
    },
  );
}

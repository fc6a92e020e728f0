import { Type } from '@sinclair/typebox';
import type { Identity } from '../../core/identities/identities.model.js';
import type {
  ConfigKind,
  ConfigProblem,
  ConfigReference,
  ConfigSpec,
} from '../../core/shared/config-kinds.js';
import type { CredentialFactory } from '../../core/shared/platform.port.js';
import type { McpServerRecord, UpstreamAuth } from './mcp.model.js';
import type { ServerPolicy } from './mcp.policy.js';
import { PolicySchema, Scopes, ServerName, UpstreamAuthSchema } from './mcp.routes.js';
import { checkServerInput, EMPTY_POLICY } from './mcp.service.js';

/**
 * An upstream MCP server behind the gateway and its tool policy, as a configuration file declares
 * it (issue 17, ADR 0037): what `POST /v1/mcp-servers` takes. Upstream credentials are never in the
 * file: `upstreamAuth` names a vault item (`{kind: secret, item: /path}`) or an audience to mint for.
 */
export interface McpServerSpec extends ConfigSpec {
  name: string;
  owner: string;
  url?: string;
  command?: string[];
  upstreamAuth: UpstreamAuth;
  timeoutSeconds: number;
  requiredScopes: string[];
  policy: ServerPolicy;
}

export const McpServerSpecSchema = Type.Object(
  {
    name: ServerName,
    owner: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The accountable human of the `/mcp/<name>` inventory identity (an email)',
    }),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'An HTTP upstream (cannot change once created)',
      }),
    ),
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
        minItems: 1,
        maxItems: 64,
        description:
          'A stdio upstream: the program and its arguments, launched by the server (needs the same create right as the API; cannot change once created)',
      }),
    ),
    upstreamAuth: Type.Optional(UpstreamAuthSchema),
    timeoutSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 300, description: 'Per upstream request; default 30' }),
    ),
    requiredScopes: Type.Optional(Scopes),
    policy: Type.Optional(PolicySchema),
  },
  { additionalProperties: false },
);

/** Which declared field a registry check is about (for the problem's line). */
function fieldOf(message: string, reason: string | undefined): string[] {
  if (reason === 'mcp_invalid_policy') return ['policy'];
  if (/url/.test(message)) return ['url'];
  if (/upstream auth|audience|vault item/.test(message)) return ['upstreamAuth'];
  if (/name/.test(message)) return ['name'];
  return [];
}

/** A policy in one form: what was left out is left out, tool settings by name. */
function normalisePolicy(p: ServerPolicy): ServerPolicy {
  const tools: Record<string, ServerPolicy['tools'][string]> = {};
  for (const name of Object.keys(p.tools).sort()) tools[name] = p.tools[name]!;
  return JSON.parse(JSON.stringify({ rules: p.rules, tools })) as ServerPolicy;
}

const toSpec = (s: McpServerRecord, owner: string): McpServerSpec => ({
  name: s.name,
  owner,
  ...(s.url !== null ? { url: s.url } : {}),
  ...(s.command !== null ? { command: s.command } : {}),
  upstreamAuth: s.upstreamAuth,
  timeoutSeconds: Math.round(s.timeoutMs / 1000),
  requiredScopes: [...s.requiredScopes].sort(),
  policy: normalisePolicy(s.policy),
});

/**
 * MCP gateway upstreams as a config kind. Like the registry API: the transport, url or command,
 * upstream auth and timeout are fixed once the server exists (delete and re-create it); the tool
 * policy, required scopes and owner change in place. The `/mcp/<name>` identity each server stands
 * for is the server's own (not declared under `identities`): the server's `owner` is its owner.
 * Deleting a server removes it from the gateway, as `DELETE /v1/mcp-servers/:name` does; its
 * identity stays in the inventory.
 */
export function mcpServerConfigKind(deps: {
  credentials: CredentialFactory;
  onChanged: (name: string) => void;
}): ConfigKind<McpServerSpec> {
  const event = (type: string, name: string, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/mcp/${name}`,
    data: { via: 'config', ...data },
  });
  return {
    key: 'mcpServers',
    label: 'MCP server',
    description:
      'Upstream MCP servers behind the gateway and their tool policies (what `POST /v1/mcp-servers` takes)',
    resourceType: 'mcp-tool',
    schema: McpServerSpecSchema,
    after: ['secrets'],
    immutable: ['url', 'command', 'upstreamAuth', 'timeoutSeconds'],
    normalise(spec) {
      try {
        checkServerInput(spec);
      } catch (error) {
        const reason = (error as { details?: { reason?: string } }).details?.reason;
        const message = (error as Error).message;
        return { problems: [{ path: fieldOf(message, reason), message }] as ConfigProblem[] };
      }
      return {
        spec: {
          name: spec.name,
          owner: spec.owner,
          ...(spec.url !== undefined ? { url: spec.url } : {}),
          ...(spec.command !== undefined ? { command: spec.command } : {}),
          upstreamAuth: spec.upstreamAuth ?? { kind: 'none' },
          timeoutSeconds: spec.timeoutSeconds ?? 30,
          requiredScopes: [...new Set(spec.requiredScopes ?? [])].sort(),
          policy: normalisePolicy(spec.policy ?? EMPTY_POLICY),
        },
      };
    },
    references(spec): ConfigReference[] {
      const auth = spec.upstreamAuth;
      return auth?.kind === 'secret'
        ? [{ kind: 'secrets', name: auth.item, path: ['upstreamAuth', 'item'] }]
        : [];
    },
    async live(r) {
      const out = [];
      for (const s of await r.mcpServers.list()) {
        const identity = await r.identities.get(s.identityId);
        out.push({ spec: toSpec(s, identity?.owner ?? ''), system: false });
      }
      return out;
    },
    async apply(r, change, ctx, now) {
      const name = change.name;
      if (change.op === 'delete') {
        await r.mcpServers.delete(name);
        await r.audit.append(event('mcp.server_removed', name), ctx, now);
        deps.onChanged(name);
        return undefined;
      }
      const d = change.desired!;
      if (change.op === 'create') {
        const identityName = `/mcp/${name}`;
        let identity = await r.identities.getByName(identityName);
        if (!identity) {
          const created: Identity = {
            id: deps.credentials.newId('i-'),
            name: identityName,
            kind: 'mcp-server',
            owner: d.owner,
            environment: null,
            description: (d.url ?? d.command!.join(' ')).slice(0, 200),
            tags: ['mcp'],
            state: 'active',
            createdAtMs: now,
            updatedAtMs: now,
            retiredAtMs: null,
            lastUsedAtMs: null,
          };
          await r.identities.insert(created);
          await r.audit.append(
            {
              type: 'identity.created',
              outcome: 'success',
              actor: {},
              resource: identityName,
              data: { identityId: created.id, kind: created.kind, owner: created.owner, via: 'config' },
            },
            ctx,
            now,
          );
          identity = created;
        } else if (identity.owner !== d.owner) {
          await r.identities.update({ ...identity, owner: d.owner, updatedAtMs: now });
        }
        const record: McpServerRecord = {
          name,
          identityId: identity.id,
          transport: d.url ? 'http' : 'stdio',
          url: d.url ?? null,
          command: d.command ?? null,
          upstreamAuth: d.upstreamAuth,
          requiredScopes: d.requiredScopes,
          timeoutMs: d.timeoutSeconds * 1000,
          policy: d.policy,
          pinned: {},
          createdAtMs: now,
          updatedAtMs: now,
        };
        await r.mcpServers.insert(record);
        await r.audit.append(
          event('mcp.server_added', name, {
            transport: record.transport,
            url: record.url,
            command: record.command?.[0] ?? null,
            upstreamAuth: record.upstreamAuth.kind,
            identityId: record.identityId,
          }),
          ctx,
          now,
        );
        deps.onChanged(name);
        return undefined;
      }
      const current = await r.mcpServers.get(name);
      if (!current) return undefined;
      if (change.fields.includes('owner')) {
        const identity = await r.identities.get(current.identityId);
        if (identity) await r.identities.update({ ...identity, owner: d.owner, updatedAtMs: now });
      }
      const next: McpServerRecord = {
        ...current,
        requiredScopes: d.requiredScopes,
        policy: d.policy,
        updatedAtMs: now,
      };
      await r.mcpServers.update(next);
      await r.audit.append(
        event('mcp.server_changed', name, {
          changed: change.fields,
          rules: next.policy.rules.map((x) => x.id),
          requiredScopes: next.requiredScopes,
        }),
        ctx,
        now,
      );
      deps.onChanged(name);
      return undefined;
    },
  };
}

import type { TargetAttributes } from '../../core/access/access.conditions.js';
import type { CallExplanation, CallToExplain } from '../../core/access/access.explain.js';
import type { AccessService } from '../../core/access/access.service.js';
import type { AuditEvent } from '../../core/audit/audit.model.js';
import type { AuthMethod } from '../../core/auth-methods/auth-methods.model.js';
import type { Identity } from '../../core/identities/identities.model.js';
import type { SecretsService } from '../../core/secrets/secrets.service.js';
import type { ActorClaim, Principal, SessionClaims } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import { type RequestContext, systemContext } from '../../core/shared/context.js';
import { conflict, ErrorCodes, notFound, TesseraError, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { sha256Base64Url } from '../../crypto/credentials.js';
import { type CatalogueEntry, canonicalJson, compareCatalogue, definitionText } from './mcp.catalogue.js';
import {
  type ApprovalAction,
  type ApprovalsPort,
  type Approvers,
  McpError,
  type McpServerRecord,
  type PinnedTool,
  RPC,
  type ToolDefinition,
  type UpstreamAuth,
} from './mcp.model.js';
import {
  type CallContext,
  decideToolCall,
  describeWhen,
  policyProblem,
  type ServerPolicy,
  stateNeeded,
  targetsNeeded,
  toolVisible,
} from './mcp.policy.js';
import type { CallStateEntry, CallStateKeys, DecideOnState } from './mcp.repo.js';
import type { UpstreamCredential, UpstreamPool } from './mcp.upstream.js';

export const SERVER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SERVER_CACHE_MS = 2000;
const CATALOGUE_CACHE_MS = 30_000;
const MINTED_TTL_SECONDS = 300;
const HISTORY_LIMIT = 10_000;
/** Sequence and rate state is kept a day (the widest rate window); pruned every so many records. */
const STATE_KEEP_MS = 86_400_000;
const STATE_PRUNE_EVERY = 1000;
/** An approval for a high-impact call lives this long. */
export const APPROVAL_TTL_SECONDS = 600;

export interface AddServerInput {
  name: string;
  url?: string;
  command?: string[];
  owner: string;
  upstreamAuth?: UpstreamAuth;
  requiredScopes?: string[];
  policy?: ServerPolicy;
  timeoutSeconds?: number;
}

/** Who calls the gateway, as the front door authenticated them. */
export interface Caller {
  claims: SessionClaims;
  principal: Principal;
  /** The MCP session (legacy era) or null (2026-07-28: stateless; history is per token). */
  sessionId: string | null;
  traceparent: string | null;
  clientInfo: { name?: string; version?: string } | null;
  ctx: RequestContext;
}

export const EMPTY_POLICY: ServerPolicy = { rules: [], tools: {} };

/** The delegation chain, outermost actor first. */
export function actorChain(act: ActorClaim | undefined): string[] {
  const out: string[] = [];
  for (let a = act; a && out.length < 10; a = a.act) out.push(a.sub);
  return out;
}

function invalid(message: string, reason = 'mcp_invalid_server'): TesseraError {
  return validationError(message, { reason });
}

/** An upstream failure on an administrator's request (native API): 502 with the gateway's reason. */
async function upstreamForAdmin<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof McpError)
      throw new TesseraError(ErrorCodes.PRODUCER_FAILED, error.message, { details: { reason: error.code } });
    throw error;
  }
}

/**
 * The MCP gateway (issue 15): the registry of upstream servers and their pinned catalogues, and
 * the per-call path (roles gate, tool policy, approvals, upstream call, audit).
 */
/** The registry's checks of a new server (the API's and a configuration file's). */
export function checkServerInput(input: AddServerInput) {
  if (!SERVER_NAME_PATTERN.test(input.name))
    throw invalid('The name must be 1–63 lowercase letters, digits or hyphens.');
  if (!!input.url === !!input.command?.length) throw invalid('Give exactly one of url and command.');
  if (input.url) {
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw invalid('The url is not a URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('The url must be http(s).');
    if (url.username || url.password) throw invalid('Put upstream credentials in the vault, not the url.');
  }
  const auth = input.upstreamAuth;
  if (auth?.kind === 'token-exchange' && !auth.audience) throw invalid('token-exchange needs an audience.');
  if (auth?.kind === 'secret' && !auth.item) throw invalid('secret needs a vault item.');
  if (auth && auth.kind !== 'none' && input.command?.length)
    throw invalid('A stdio server takes its credentials from its environment, not from upstream auth.');
  if (input.policy) {
    const problem = policyProblem(input.policy);
    if (problem) throw invalid(problem, 'mcp_invalid_policy');
  }
}

export function createMcpService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  access: AccessService;
  secrets: SecretsService;
  pool: UpstreamPool;
  approvals: ApprovalsPort | null;
  /**
   * The check-and-reserve of sequence and rate state without an fsync on the call's path where the
   * store allows it (SQLite: the unit of work's `writeNow`, ADR 0045, ADR 0051). Absent: in a
   * write of the unit of work.
   */
  reserveNow?: <T>(keys: CallStateKeys, decide: DecideOnState<T>) => Promise<T>;
  /**
   * Fail closed (DESIGN §3): why calls must be refused now (every audit sink failing), or null.
   * Consulted before a call goes upstream, since its audit event is written after the answer.
   */
  auditGate?: () => Error | null;
  issuer: string;
  onAuditError: (error: unknown) => void;
  /** Metrics per server and tool: each call's outcome, and its time at the gateway when it ran. */
  onCall?: (call: {
    server: string;
    /** Null for a name that is not a pinned tool (no unbounded label values). */
    tool: string | null;
    outcome: AuditEvent['outcome'];
    seconds: number | null;
  }) => void;
}) {
  const { uow, clock, credentials, pool } = deps;
  const servers = new Map<string, { record: McpServerRecord | null; atMs: number }>();
  const catalogues = new Map<
    string,
    { tools: Map<string, { definition: ToolDefinition; hash: string }>; atMs: number }
  >();
  const alerted = new Set<string>();
  const identityNames = new Map<string, { name: string; owner: string | null; atMs: number }>();
  /** Sequence and rate state lives in the store (ADR 0042); pruned now and then. */
  let recordsSincePrune = 0;
  const secretCredentials = new Map<string, UpstreamCredential>();
  const mintedCredentials = new Map<string, UpstreamCredential>();

  // ---------------------------------------------------------------------------------------------
  // Audit: one transaction per burst of calls, off the call's path (ADR 0017).
  const queue: { event: AuditEvent; ctx: RequestContext; atMs: number }[] = [];
  let flushing: Promise<void> | null = null;
  function record(event: AuditEvent, ctx: RequestContext) {
    queue.push({ event, ctx, atMs: clock.nowMs() });
    if (!flushing) flushing = new Promise((resolve) => setImmediate(resolve)).then(flush);
  }
  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, 500);
      try {
        await uow.write(async (r) => {
          for (const e of batch) await r.audit.append(e.event, e.ctx, e.atMs);
        });
      } catch (error) {
        deps.onAuditError(error);
      }
    }
    flushing = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Registry

  function invalidate(name: string) {
    servers.delete(name);
    catalogues.delete(name);
    secretCredentials.delete(name);
    for (const k of mintedCredentials.keys()) if (k.startsWith(`${name}\u0000`)) mintedCredentials.delete(k);
    pool.closeServer(name);
  }

  async function server(name: string): Promise<McpServerRecord> {
    const now = clock.nowMs();
    const hit = servers.get(name);
    let record = hit && now - hit.atMs < SERVER_CACHE_MS ? hit.record : undefined;
    if (record === undefined) {
      record = await uow.read((r) => r.mcpServers.get(name));
      if (servers.size > 1000) servers.clear();
      servers.set(name, { record, atMs: now });
    }
    if (!record) throw notFound('The MCP server');
    return record;
  }

  async function add(input: AddServerInput, ctx: RequestContext): Promise<McpServerRecord> {
    checkServerInput(input);
    const now = clock.nowMs();
    const identity: Identity = {
      id: credentials.newId('i-'),
      name: `/mcp/${input.name}`,
      kind: 'mcp-server',
      owner: input.owner,
      environment: null,
      description: input.url ?? input.command!.join(' ').slice(0, 200),
      tags: ['mcp'],
      state: 'active',
      createdAtMs: now,
      updatedAtMs: now,
      retiredAtMs: null,
      lastUsedAtMs: null,
    };
    const record: McpServerRecord = {
      name: input.name,
      identityId: identity.id,
      transport: input.url ? 'http' : 'stdio',
      url: input.url ?? null,
      command: input.command?.length ? input.command : null,
      upstreamAuth: input.upstreamAuth ?? { kind: 'none' },
      requiredScopes: input.requiredScopes ?? [],
      timeoutMs: (input.timeoutSeconds ?? 30) * 1000,
      policy: input.policy ?? EMPTY_POLICY,
      pinned: {},
      createdAtMs: now,
      updatedAtMs: now,
    };
    await uow.write(async (r) => {
      if (await r.mcpServers.get(input.name)) throw conflict('An MCP server with this name already exists.');
      const existing = await r.identities.getByName(identity.name);
      if (existing) {
        record.identityId = existing.id;
      } else {
        await r.identities.insert(identity);
        await r.audit.append(
          {
            type: 'identity.created',
            outcome: 'success',
            actor: {},
            resource: identity.name,
            data: { identityId: identity.id, kind: identity.kind, owner: identity.owner },
          },
          ctx,
          now,
        );
      }
      await r.mcpServers.insert(record);
      await r.audit.append(
        {
          type: 'mcp.server_added',
          outcome: 'success',
          actor: {},
          resource: `/mcp/${record.name}`,
          data: {
            transport: record.transport,
            url: record.url,
            command: record.command?.[0] ?? null,
            upstreamAuth: record.upstreamAuth.kind,
            identityId: record.identityId,
          },
        },
        ctx,
        now,
      );
    });
    invalidate(record.name);
    return record;
  }

  async function update(
    name: string,
    change: (s: McpServerRecord) => McpServerRecord,
    event: (before: McpServerRecord, after: McpServerRecord) => AuditEvent,
    ctx: RequestContext,
  ): Promise<McpServerRecord> {
    const after = await uow.write(async (r) => {
      const before = await r.mcpServers.get(name);
      if (!before) throw notFound('The MCP server');
      const next = { ...change(before), updatedAtMs: clock.nowMs() };
      await r.mcpServers.update(next);
      await r.audit.append(event(before, next), ctx, clock.nowMs());
      return next;
    });
    servers.delete(name);
    return after;
  }

  async function setPolicy(
    name: string,
    change: { policy?: ServerPolicy | undefined; requiredScopes?: string[] | undefined },
    ctx: RequestContext,
  ) {
    if (change.policy) {
      const problem = policyProblem(change.policy);
      if (problem) throw invalid(problem, 'mcp_invalid_policy');
    }
    return update(
      name,
      (s) => ({
        ...s,
        ...(change.policy ? { policy: change.policy } : {}),
        ...(change.requiredScopes ? { requiredScopes: change.requiredScopes } : {}),
      }),
      (_b, a) => ({
        type: 'mcp.server_changed',
        outcome: 'success',
        actor: {},
        resource: `/mcp/${name}`,
        data: {
          rules: a.policy.rules.map((r) => r.id),
          policyHash: sha256Base64Url(canonicalJson(a.policy)),
          requiredScopes: a.requiredScopes,
        },
      }),
      ctx,
    );
  }

  async function remove(name: string, ctx: RequestContext) {
    await uow.write(async (r) => {
      const existing = await r.mcpServers.get(name);
      if (!existing || !(await r.mcpServers.delete(name))) throw notFound('The MCP server');
      await r.audit.append(
        { type: 'mcp.server_removed', outcome: 'success', actor: {}, resource: `/mcp/${name}`, data: {} },
        ctx,
        clock.nowMs(),
      );
    });
    invalidate(name);
  }

  // ---------------------------------------------------------------------------------------------
  // Upstream credentials: never the caller's token.

  async function credentialFor(s: McpServerRecord, caller: Caller | null): Promise<UpstreamCredential> {
    const auth = s.upstreamAuth;
    if (auth.kind === 'none') return { headers: {}, key: 'none', renewAtMs: Number.POSITIVE_INFINITY };
    if (auth.kind === 'secret') {
      const hit = secretCredentials.get(s.name);
      if (hit && clock.nowMs() < hit.renewAtMs) return hit;
      const value = await deps.secrets.getValue(auth.item, null, systemContext('mcp-gateway'));
      const header = (auth.header ?? 'authorization').toLowerCase();
      const credential = {
        headers: { [header]: header === 'authorization' ? `Bearer ${value.value}` : value.value },
        key: `secret:${value.version}`,
        renewAtMs: clock.nowMs() + 300_000,
      };
      secretCredentials.set(s.name, credential);
      return credential;
    }
    // Token exchange: the caller stays the subject, the gateway (this server's identity) is the
    // actor, the caller's own delegation chain nested inside (RFC 8693 §4.1).
    const claims = caller?.claims;
    // One minted token per upstream, subject and delegation chain, reused until it nears expiry
    // (the pooled connection sends the token it was opened with): no signature per call.
    const key = `te:${claims?.sub ?? '-'}:${canonicalJson(claims?.act ?? null)}`;
    const cacheKey = `${s.name}\u0000${key}`;
    const hit = mintedCredentials.get(cacheKey);
    if (hit && clock.nowMs() < hit.renewAtMs) return hit;
    const nowS = Math.floor(clock.nowMs() / 1000);
    const ttl = Math.max(30, Math.min(MINTED_TTL_SECONDS, claims ? claims.exp - nowS : MINTED_TTL_SECONDS));
    const method = {
      id: claims?.am ?? `mcp:${s.name}`,
      settings: { jwtTtlSeconds: ttl },
      expiresAtMs: null,
    } as unknown as AuthMethod;
    const actor: ActorClaim = {
      sub: s.identityId,
      client_id: `mcp:${s.name}`,
      ...(claims?.act ? { act: claims.act } : {}),
    };
    const issued = deps.sessions.issue(
      { method, identityId: claims?.sub ?? s.identityId },
      {
        audience: auth.audience,
        actor,
        ttlSeconds: ttl,
        ...(claims?.client_id ? { clientId: claims.client_id } : {}),
        ...(auth.scope ? { scope: auth.scope.split(' ') } : {}),
      },
    );
    const credential = {
      headers: { authorization: `Bearer ${issued.token}` },
      key,
      // A caller's token may outlive a short minted one: renew at least 30 s before it expires.
      renewAtMs: Math.max(clock.nowMs() + 1000, issued.expiresAtMs - Math.min(60_000, (ttl * 1000) / 2)),
    };
    if (mintedCredentials.size >= HISTORY_LIMIT) mintedCredentials.clear();
    mintedCredentials.set(cacheKey, credential);
    return credential;
  }

  // ---------------------------------------------------------------------------------------------
  // Catalogue and pinning

  async function fetchCatalogue(s: McpServerRecord, caller: Caller | null) {
    const tools = await pool.listTools(s, await credentialFor(s, caller));
    const map = new Map<string, { definition: ToolDefinition; hash: string }>();
    for (const definition of tools)
      map.set(definition.name, { definition, hash: sha256Base64Url(definitionText(definition)) });
    catalogues.set(s.name, { tools: map, atMs: clock.nowMs() });
    // Alert once per changed or new definition (a possible rug pull) until it is approved.
    for (const entry of compareCatalogue([...map.values()], s.pinned)) {
      if (entry.status !== 'changed' && entry.status !== 'new') continue;
      const key = `${s.name}\u0000${entry.name}\u0000${entry.hash}`;
      if (alerted.has(key) || Object.keys(s.pinned).length === 0) continue;
      alerted.add(key);
      record(
        {
          type: 'mcp.tool_withheld',
          outcome: 'denied',
          actor: {},
          resource: `/mcp/${s.name}/${entry.name}`,
          reason: entry.status === 'changed' ? 'definition_changed' : 'new_tool',
          data: { server: s.name, tool: entry.name, hash: entry.hash, pinnedHash: entry.pinnedHash },
        },
        systemContext('mcp-gateway'),
      );
    }
    return map;
  }

  async function catalogue(s: McpServerRecord, caller: Caller | null) {
    const hit = catalogues.get(s.name);
    if (hit && clock.nowMs() - hit.atMs < CATALOGUE_CACHE_MS) return hit.tools;
    return fetchCatalogue(s, caller);
  }

  async function tools(name: string): Promise<CatalogueEntry[]> {
    const s = await server(name);
    const current = await upstreamForAdmin(() => fetchCatalogue(s, null));
    return compareCatalogue([...current.values()], s.pinned);
  }

  async function approveTools(name: string, only: string[] | undefined, ctx: RequestContext) {
    const s = await server(name);
    const current = await upstreamForAdmin(() => fetchCatalogue(s, null));
    const entries = compareCatalogue([...current.values()], s.pinned);
    const wanted = only?.length ? new Set(only) : null;
    const unknown = only?.find((t) => !entries.some((e) => e.name === t));
    if (unknown !== undefined)
      throw invalid(`The upstream has no tool "${unknown.slice(0, 128)}".`, 'mcp_unknown_tool');
    const approved: string[] = [];
    const after = await update(
      name,
      (before) => {
        const pinned: Record<string, PinnedTool> = { ...before.pinned };
        for (const e of entries) {
          if (wanted && !wanted.has(e.name)) continue;
          if (e.status === 'removed') delete pinned[e.name];
          else if (e.status !== 'approved') {
            pinned[e.name] = { hash: e.hash!, definition: e.definition!, approvedAtMs: clock.nowMs() };
            approved.push(e.name);
          }
        }
        return { ...before, pinned };
      },
      () => ({
        type: 'mcp.tools_approved',
        outcome: 'success',
        actor: {},
        resource: `/mcp/${name}`,
        data: { tools: approved, hashes: approved.map((t) => current.get(t)?.hash ?? null) },
      }),
      ctx,
    );
    return compareCatalogue([...current.values()], after.pinned);
  }

  // ---------------------------------------------------------------------------------------------
  // The call path

  async function callerIdentity(identityId: string): Promise<{ name: string; owner: string | null }> {
    const hit = identityNames.get(identityId);
    if (hit && clock.nowMs() - hit.atMs < SERVER_CACHE_MS * 15) return hit;
    const identity = await uow.read((r) => r.identities.get(identityId));
    const entry = { name: identity?.name ?? identityId, owner: identity?.owner ?? null, atMs: clock.nowMs() };
    if (identityNames.size > 10_000) identityNames.clear();
    identityNames.set(identityId, entry);
    return entry;
  }

  /**
   * The attributes of the targets the tool's rules name (ADR 0042): `''` is the upstream server's
   * identity, `=NAME` the inventory identity of that name. Looked up here; decided in the policy.
   */
  async function loadTargets(
    s: McpServerRecord,
    keys: readonly string[],
  ): Promise<Map<string, TargetAttributes | null>> {
    const out = new Map<string, TargetAttributes | null>();
    if (keys.length === 0) return out;
    await uow.read(async (r) => {
      for (const key of keys) {
        const identity =
          key === '' ? await r.identities.get(s.identityId) : await r.identities.getByName(key.slice(1));
        out.set(
          key,
          identity && identity.state === 'active' ? { owner: identity.owner, tags: identity.tags } : null,
        );
      }
    });
    return out;
  }

  /** Store keys are hashes: no MCP session id or token id is kept in the clear. */
  const sessionKey = (s: McpServerRecord, caller: Caller) =>
    sha256Base64Url(`${s.name}\u0000${caller.claims.sub}\u0000${caller.sessionId ?? caller.claims.jti}`);
  const callerKey = (s: McpServerRecord, caller: Caller, tool: string) =>
    sha256Base64Url(`${s.name}\u0000${caller.claims.sub}\u0000${tool}`);

  /**
   * The tool policy's decision on this call, with the session's labels and the caller's recent
   * calls read from the store when its rules need them, and the call recorded in the same
   * transaction when it is allowed (check and reserve, ADR 0045): concurrent calls cannot all take
   * a rate cap's last slot, on one server or several. `defer` (high-impact tools, and explain): decide only;
   * the caller records with `recordCall` once the approval is consumed.
   */
  async function decideWithState(
    s: McpServerRecord,
    caller: Caller,
    tool: string,
    args: Record<string, unknown>,
    ctx: CallContext,
    defer: boolean,
  ): Promise<ReturnType<typeof decideToolCall>> {
    const need = stateNeeded(s.policy, tool);
    const entry = stateEntry(s, caller, tool, ctx.nowMs);
    if (!need.history && !need.rate && (entry === null || defer))
      return decideToolCall(s.policy, tool, args, ctx);
    const keys: CallStateKeys = {
      sessionKey: need.history ? sessionKey(s, caller) : null,
      callerKey: need.rate ? callerKey(s, caller, tool) : null,
      windows: [...need.windows].map(([windowSeconds, cap]) => ({
        windowSeconds,
        sinceMs: ctx.nowMs - windowSeconds * 1000,
        cap,
      })),
    };
    const decide: DecideOnState<ReturnType<typeof decideToolCall>> = (state) => {
      const decision = decideToolCall(s.policy, tool, args, { ...ctx, ...state });
      return { value: decision, record: decision.allowed && !defer ? entry : null };
    };
    const decision = deps.reserveNow
      ? await deps.reserveNow(keys, decide)
      : await uow.write((r) => r.mcpCallState.reserve(keys, decide));
    if (decision.allowed && !defer && entry) pruneNowAndThen(ctx.nowMs);
    return decision;
  }

  /** What a call of `tool` leaves for the sequence and rate rules; null when none reads it. */
  function stateEntry(s: McpServerRecord, caller: Caller, tool: string, atMs: number): CallStateEntry | null {
    const need = stateNeeded(s.policy, tool);
    if (need.labels.length === 0 && !need.rate) return null;
    return {
      sessionKey: sessionKey(s, caller),
      labels: need.labels,
      callerKey: need.rate ? callerKey(s, caller, tool) : null,
      atMs,
    };
  }

  /** Records a call without a check (a label no rule of this tool reads, or an approved call). */
  async function recordCall(entry: CallStateEntry) {
    await uow.write((r) => r.mcpCallState.record(entry));
    pruneNowAndThen(entry.atMs);
  }

  function pruneNowAndThen(nowMs: number) {
    if (++recordsSincePrune < STATE_PRUNE_EVERY) return;
    recordsSincePrune = 0;
    uow.write((r) => r.mcpCallState.prune(nowMs - STATE_KEEP_MS)).catch((error) => deps.onAuditError(error));
  }

  async function callContext(
    s: McpServerRecord,
    caller: Caller,
    tool: string | null,
    args: Record<string, unknown> = {},
  ): Promise<CallContext> {
    const identity = await callerIdentity(caller.claims.sub);
    const needed = tool ? targetsNeeded(s.policy, tool, args) : [];
    const nowMs = clock.nowMs();
    return {
      nowMs,
      callerName: identity.name,
      principal: {
        'identity-id': [caller.claims.sub],
        'identity-name': [identity.name],
        ...(identity.owner ? { owner: [identity.owner] } : {}),
      },
      ...(needed.length > 0 ? { targets: await loadTargets(s, needed) } : {}),
      hops: actorChain(caller.claims.act).length,
      // Filled in from the store by `decideWithState` when the tool's rules read them.
      history: new Map(),
      recentCalls: [],
    };
  }

  const toolResource = (server: string, tool: string) => ({
    type: 'mcp-tool' as const,
    path: `/${server}/${tool}`,
  });

  /** `tools/list` as this caller may see it: approved, unchanged, granted by a role and the policy. */
  async function listTools(name: string, caller: Caller) {
    const s = await server(name);
    const current = await fetchCatalogue(s, caller);
    const ctx = await callContext(s, caller, null);
    const out: ToolDefinition[] = [];
    for (const [toolName, { definition, hash }] of current) {
      const pin = Object.hasOwn(s.pinned, toolName) ? s.pinned[toolName]! : null;
      if (!pin || pin.hash !== hash) continue;
      if (!toolVisible(s.policy, toolName, ctx)) continue;
      const decision = await deps.access.authorize(caller.principal, 'call', toolResource(s.name, toolName), {
        sourceIp: caller.ctx.sourceIp,
      });
      if (decision.allowed) out.push(definition);
    }
    return out;
  }

  function audited(
    s: McpServerRecord,
    caller: Caller,
    tool: string,
    outcome: AuditEvent['outcome'],
    data: Record<string, unknown>,
    reason?: string,
  ) {
    deps.onCall?.({
      server: s.name,
      tool: Object.hasOwn(s.pinned, tool) ? tool : null,
      outcome,
      seconds: typeof data.latencyMs === 'number' ? data.latencyMs / 1000 : null,
    });
    const trace = caller.traceparent
      ? /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(caller.traceparent)
      : null;
    record(
      {
        type: 'mcp.tool_called',
        outcome,
        actor: {
          identityId: caller.claims.sub,
          authMethodId: caller.claims.am,
          ...(caller.claims.jti ? { tokenId: caller.claims.jti } : {}),
        },
        resource: `/mcp/${s.name}/${tool}`,
        ...(reason ? { reason } : {}),
        data: {
          server: s.name,
          tool,
          clientId: caller.claims.client_id ?? null,
          actingFor: actorChain(caller.claims.act),
          clientInfo: caller.clientInfo,
          traceId: trace?.[1] ?? null,
          sessionId: caller.sessionId ? credentials.auditRef(caller.sessionId).slice(-16) : null,
          ...data,
        },
      },
      caller.ctx,
    );
  }

  async function callTool(
    name: string,
    caller: Caller,
    tool: string,
    args: Record<string, unknown>,
    meta: Record<string, unknown> | undefined,
  ): Promise<Record<string, unknown>> {
    const started = performance.now();
    const s = await server(name);
    const argumentsHash = sha256Base64Url(canonicalJson(args));
    const settings = Object.hasOwn(s.policy.tools, tool) ? s.policy.tools[tool]! : {};
    const base = {
      argumentsHash,
      ...(settings.logArguments ? { arguments: args } : {}),
    };
    const refuse = (
      code: string,
      message: string,
      data: Record<string, unknown>,
      rpcCode: number = RPC.denied,
    ): never => {
      audited(s, caller, tool, 'denied', { ...base, decision: 'deny', ...data }, code);
      throw new McpError(rpcCode, code, message, 200, data);
    };

    // 1. The pinned catalogue: an unknown, new or changed definition is withheld.
    const current = (await catalogue(s, caller)).get(tool);
    const pin = Object.hasOwn(s.pinned, tool) ? s.pinned[tool]! : null;
    if (!current || !pin)
      refuse('mcp_unknown_tool', `Unknown tool: ${tool.slice(0, 128)}`, {}, RPC.invalidParams);
    if (current!.hash !== pin!.hash)
      refuse('mcp_tool_withheld', 'The tool definition changed upstream and waits for an administrator.', {
        hash: current!.hash,
      });

    // 2. The roles model: `call` on `mcp-tool:/<server>/<tool>`.
    const roles = await deps.access.authorize(caller.principal, 'call', toolResource(s.name, tool), {
      sourceIp: caller.ctx.sourceIp,
    });
    if (!roles.allowed)
      refuse('mcp_denied', 'No role allows this caller to call this tool.', {
        rule: null,
        stage: 'roles',
        reason: roles.reason,
      });

    // 3. The server's tool policy: arguments, context, sequence and rate.
    const ctx = await callContext(s, caller, tool, args);
    const decision = await decideWithState(s, caller, tool, args, ctx, !!settings.highImpact);
    if (!decision.allowed)
      refuse(
        'mcp_denied',
        `Denied by the tool policy${decision.rule ? ` (rule ${decision.rule}${decision.condition ? `: ${decision.condition}` : ''})` : ': no rule allows it'}.`,
        {
          stage: 'policy',
          rule: decision.rule,
          condition: decision.condition,
          reason: decision.reason,
        },
      );

    // 4. A human approves each high-impact call: single use, bound to the exact arguments. The
    // request is found in the approvals store (the caller's request for exactly this call that a
    // retry acts on, decided by the server's owner), so a retry on any server finds the same one,
    // and at most one is pending per call (ADR 0051).
    let approvalId: string | null = null;
    if (settings.highImpact) {
      const action: ApprovalAction = { kind: 'mcp.tool_call', server: s.name, tool, argumentsHash };
      if (!deps.approvals)
        refuse(
          'mcp_approval_unavailable',
          'This tool needs an approval and no approvals service is configured.',
          {
            stage: 'approval',
          },
        );
      const approvals = deps.approvals!;
      const requester = { kind: 'identity' as const, id: caller.claims.sub };
      // The caller's own request, decided by the server's owner (not approvers a caller chose).
      const ownerDecides = (a: Approvers) => a.kind === 'owner' && a.ownerOf === s.identityId;
      const waiting = (id: string): never =>
        refuse(
          'mcp_approval_pending',
          `The call waits for approval ${id}.`,
          { stage: 'approval', approvalId: id, status: 'pending' },
          RPC.approvalRequired,
        );
      const closed = (id: string, status: string): never =>
        refuse(`mcp_approval_${status}`, `Approval ${id} is ${status}.`, {
          stage: 'approval',
          approvalId: id,
          status,
        });
      const presented =
        typeof meta?.['tessera/approvalId'] === 'string' ? (meta['tessera/approvalId'] as string) : null;
      let id = presented;
      if (!id) {
        const found = await approvals.forRetry(requester, action, ownerDecides);
        if (found?.status === 'pending') waiting(found.id);
        if (found?.status === 'approved') id = found.id;
        // A denial holds for the request's lifetime; after it, the same call may ask again.
        if (found?.status === 'denied' && Date.parse(found.expiresAt) > clock.nowMs())
          closed(found.id, 'denied');
      }
      if (id) {
        const used = await approvals.consume(id, action, undefined, { requester, approvers: ownerDecides });
        if (used.ok) approvalId = id;
        else if (used.reason === 'pending') waiting(id);
        else if (presented || used.reason === 'denied') closed(id, used.reason);
        // Otherwise the grant was used by a concurrent retry or expired meanwhile: ask again.
      }
      if (!approvalId) {
        const request = await approvals.request({
          requester: { ...requester, name: ctx.callerName },
          action,
          justification: `MCP tool call ${s.name}/${tool} (arguments hash ${argumentsHash})`,
          approvers: { kind: 'owner', ownerOf: s.identityId },
          ttlSec: APPROVAL_TTL_SECONDS,
          // First calls racing on several servers join one request (ADR 0051).
          reusePending: true,
        });
        refuse(
          'mcp_approval_required',
          `This call needs a human's approval: ${request.id}. Retry the same call once it is approved.`,
          {
            stage: 'approval',
            approvalId: request.id,
            status: request.status,
            expiresAt: request.expiresAt,
          },
          RPC.approvalRequired,
        );
      }
    }

    // 5. An approved high-impact call is recorded now (other calls were, with their decision).
    if (approvalId) {
      const entry = stateEntry(s, caller, tool, ctx.nowMs);
      if (entry) await recordCall(entry);
    }

    const allowed = {
      ...base,
      decision: 'allow',
      rule: decision.rule,
      roleRule: roles.rule?.id ?? null,
      approvalId,
    };
    // 6. Nothing goes upstream that could not be audited.
    const unauditable = deps.auditGate?.();
    if (unauditable) throw unauditable;

    const upstreamStarted = performance.now();
    try {
      const result = await pool.callTool(s, await credentialFor(s, caller), tool, args);
      audited(s, caller, tool, 'success', {
        ...allowed,
        upstreamStatus: result.isError ? 'tool_error' : 'ok',
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        upstreamMs: Math.round((performance.now() - upstreamStarted) * 100) / 100,
      });
      return result;
    } catch (error) {
      const e =
        error instanceof McpError
          ? error
          : new McpError(RPC.upstream, 'upstream_failed', 'Upstream failure.', 502);
      audited(
        s,
        caller,
        tool,
        'failure',
        {
          ...allowed,
          upstreamStatus: e.code,
          latencyMs: Math.round((performance.now() - started) * 100) / 100,
        },
        e.code,
      );
      throw e;
    }
  }

  /**
   * The gateway's stages after the roles model for one call, as `tessera access explain` shows them:
   * the pinned catalogue (as last fetched; explaining never calls the upstream), the tool policy
   * with the caller's context (its delegation chain, and the history of the token's stateless
   * session), and whether a human must approve it. Nothing is recorded or asked.
   */
  async function explainCall(call: CallToExplain): Promise<CallExplanation> {
    const [, name = '', ...rest] = call.path.split('/');
    const tool = rest.join('/');
    const args = call.arguments;
    const argumentsHash = sha256Base64Url(canonicalJson(args));
    const out = (
      allowed: boolean,
      stage: string,
      reason: string,
      summary: string,
      extra: { rule?: string | null; condition?: string | null; approval?: boolean } = {},
    ): CallExplanation => ({
      allowed,
      stage,
      rule: extra.rule ?? null,
      condition: extra.condition ?? null,
      reason,
      summary,
      approval: extra.approval ?? false,
      argumentsHash,
    });
    const s = await uow.read((r) => r.mcpServers.get(name));
    if (!s) return out(false, 'catalogue', 'unknown-server', `no MCP server named ${name}`);
    const pin = Object.hasOwn(s.pinned, tool) ? s.pinned[tool]! : null;
    if (!pin) return out(false, 'catalogue', 'unknown-tool', `${tool} is not an approved tool of ${name}`);
    const seen = catalogues.get(s.name)?.tools.get(tool);
    if (seen && seen.hash !== pin.hash)
      return out(
        false,
        'catalogue',
        'tool-withheld',
        `${tool} changed upstream and waits for an administrator`,
      );
    const claims: SessionClaims =
      call.claims ??
      ({
        sub: call.principal.identityId,
        am: call.principal.authMethodId,
        jti: call.principal.tokenId ?? '-',
      } as SessionClaims);
    const caller: Caller = {
      claims,
      principal: call.principal,
      sessionId: null,
      traceparent: null,
      clientInfo: null,
      ctx: { ...systemContext('mcp-explain'), ...(call.sourceIp ? { sourceIp: call.sourceIp } : {}) },
    };
    const ctx = await callContext(s, caller, tool, args);
    // The session's labels and recent calls from the store, as a call would read them; nothing recorded.
    const d = await decideWithState(s, caller, tool, args, ctx, true);
    const condition = d.allowed
      ? describeWhen(s.policy.rules.find((r) => r.id === d.rule)?.when)
      : d.condition;
    const approval = !!(Object.hasOwn(s.policy.tools, tool) && s.policy.tools[tool]!.highImpact);
    const where = d.rule ? `tool policy rule ${d.rule}${condition ? ` (${condition})` : ''}` : '';
    if (!d.allowed)
      return out(
        false,
        'policy',
        d.reason,
        d.rule ? `denied by ${where}` : 'denied by the tool policy: no rule allows it',
        { rule: d.rule, condition, approval },
      );
    return out(
      true,
      approval ? 'approval' : 'policy',
      d.reason,
      `allowed by ${where}${approval ? '; runs once a human approves it (high-impact)' : ''}`,
      { rule: d.rule, condition, approval },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Resources and prompts (ADR 0028): `read` on `mcp-tool:/<server>/resources/<uri>` and
  // `mcp-tool:/<server>/prompts/<name>` in the roles model, decided per item for the lists and
  // per request for resources/read and prompts/get. A tool grant (`call`) does not reach them.

  const LISTS = {
    'resources/list': { field: 'resources', key: 'uri', kind: 'resources' },
    'resources/templates/list': { field: 'resourceTemplates', key: 'uriTemplate', kind: 'resources' },
    'prompts/list': { field: 'prompts', key: 'name', kind: 'prompts' },
  } as const;
  type ListMethod = keyof typeof LISTS;

  const itemResource = (server: string, kind: 'resources' | 'prompts', name: string) => ({
    type: 'mcp-tool' as const,
    path: `/${server}/${kind}/${name}`,
  });

  /**
   * A resource URI as a rule path: `note://public/readme` → `note/public/readme`, `file:///srv/a`
   * → `file/srv/a` (the scheme, then the rest without its leading slashes; rule paths hold no empty
   * segment). Null for a URI with a `.`, `..` or empty segment: a rule on `…/public/*` must not
   * reach `public/../secret` however the upstream resolves it.
   */
  function resourcePath(uri: string): string | null {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/*(.+)$/s.exec(uri);
    if (!m) return null;
    if (
      m[2]!
        .split('/')
        .some((seg, i, all) => seg === '.' || seg === '..' || (seg === '' && i < all.length - 1))
    )
      return null;
    return `${m[1]!.toLowerCase()}/${m[2]}`;
  }

  /** A resource or prompt list as this caller may see it: the upstream's page, item by item. */
  async function listItems(name: string, caller: Caller, method: ListMethod, cursor: unknown) {
    const s = await server(name);
    const { field, key, kind } = LISTS[method];
    let result: Record<string, unknown>;
    try {
      result = await pool.request(
        s,
        await credentialFor(s, caller),
        method,
        typeof cursor === 'string' ? { cursor } : {},
      );
    } catch (error) {
      // An upstream without resources or prompts has none to show.
      if (error instanceof McpError && error.rpcCode === RPC.methodNotFound) return { [field]: [] };
      throw error;
    }
    const items = result[field];
    if (!Array.isArray(items))
      throw new McpError(
        RPC.upstream,
        'upstream_failed',
        'The upstream MCP server failed or answered garbage.',
        502,
        {
          cause: `${method} without a ${field} array`,
        },
      );
    const out: unknown[] = [];
    for (const item of items as Record<string, unknown>[]) {
      const id = item?.[key];
      if (typeof id !== 'string' || id.length > 2048) continue;
      const path = kind === 'resources' ? resourcePath(id) : id;
      if (path === null) continue;
      const decision = await deps.access.authorize(
        caller.principal,
        'read',
        itemResource(s.name, kind, path),
        {
          sourceIp: caller.ctx.sourceIp,
        },
      );
      if (decision.allowed) out.push(item);
    }
    return {
      [field]: out,
      ...(typeof result.nextCursor === 'string' ? { nextCursor: result.nextCursor } : {}),
    };
  }

  /** resources/read or prompts/get: authorised for this item, audited, then passed upstream. */
  async function getItem(
    name: string,
    caller: Caller,
    method: 'resources/read' | 'prompts/get',
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const started = performance.now();
    const s = await server(name);
    const kind = method === 'resources/read' ? 'resources' : 'prompts';
    const id = kind === 'resources' ? params.uri : params.name;
    const limit = kind === 'resources' ? 2048 : 128;
    if (typeof id !== 'string' || id.length === 0 || id.length > limit)
      throw new McpError(
        RPC.invalidParams,
        'mcp_invalid_params',
        kind === 'resources' ? 'params.uri must be a resource URI.' : 'params.name must be a prompt name.',
      );
    const args = params.arguments;
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))
      throw new McpError(RPC.invalidParams, 'mcp_invalid_params', 'params.arguments must be an object.');
    const type = kind === 'resources' ? 'mcp.resource_read' : 'mcp.prompt_got';
    const resource = `/mcp/${s.name}/${kind}/${id.slice(0, 512)}`;
    const event = (outcome: AuditEvent['outcome'], data: Record<string, unknown>, reason?: string) =>
      record(
        {
          type,
          outcome,
          actor: {
            identityId: caller.claims.sub,
            authMethodId: caller.claims.am,
            ...(caller.claims.jti ? { tokenId: caller.claims.jti } : {}),
          },
          resource,
          ...(reason ? { reason } : {}),
          data: {
            server: s.name,
            clientId: caller.claims.client_id ?? null,
            actingFor: actorChain(caller.claims.act),
            ...(args ? { argumentsHash: sha256Base64Url(canonicalJson(args)) } : {}),
            ...data,
          },
        },
        caller.ctx,
      );
    const path = kind === 'resources' ? resourcePath(id) : id;
    if (path === null)
      throw new McpError(
        RPC.invalidParams,
        'mcp_invalid_params',
        'params.uri must be an absolute URI without ".", ".." or empty segments.',
      );
    const decision = await deps.access.authorize(caller.principal, 'read', itemResource(s.name, kind, path), {
      sourceIp: caller.ctx.sourceIp,
    });
    if (!decision.allowed) {
      event('denied', { decision: 'deny', stage: 'roles', reason: decision.reason }, 'mcp_denied');
      throw new McpError(
        RPC.denied,
        'mcp_denied',
        `No role allows this caller to read this ${kind.slice(0, -1)}.`,
        200,
        {
          rule: null,
          stage: 'roles',
          reason: decision.reason,
        },
      );
    }
    const forwarded = kind === 'resources' ? { uri: id } : { name: id, ...(args ? { arguments: args } : {}) };
    const unauditable = deps.auditGate?.();
    if (unauditable) throw unauditable;
    try {
      const result = await pool.request(s, await credentialFor(s, caller), method, forwarded);
      event('success', {
        decision: 'allow',
        roleRule: decision.rule?.id ?? null,
        upstreamStatus: 'ok',
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
      });
      return result;
    } catch (error) {
      const e =
        error instanceof McpError
          ? error
          : new McpError(RPC.upstream, 'upstream_failed', 'Upstream failure.', 502);
      event('failure', { decision: 'allow', upstreamStatus: e.code }, e.code);
      throw e;
    }
  }

  return {
    add,
    update: setPolicy,
    remove,
    get: server,
    list: () => uow.read((r) => r.mcpServers.list()),
    tools,
    approveTools,
    listTools,
    callTool,
    explainCall,
    listItems,
    getItem,
    /** The gateway URL of a server: the audience its callers' tokens must carry. */
    resourceOf: (name: string) => `${deps.issuer}/mcp/${name}`,
    /** An upstream said its catalogue changed: refetch before the next call. */
    catalogueChanged: (name: string) => catalogues.delete(name),
    /** Drops what the service caches of a server changed elsewhere (a configuration apply). */
    invalidate,
    flushAudit: async () => {
      if (flushing) await flushing;
      if (queue.length) await flush();
    },
    record,
  };
}

export type McpService = ReturnType<typeof createMcpService>;

import type { Kysely, Migration } from 'kysely';
import type { RequestContext } from '../../core/shared/context.js';
import { conflict, notFound, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { ReadRepos, Repos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import { prepared, type QueryTarget } from '../../storage/prepared.js';
import { OAuthError } from './oauth.model.js';

/**
 * A registered OAuth resource server (issue 12 "Scope and audience", ADR 0038): the audience an
 * RFC 8707 `resource` names, the scopes a token for it may carry, and how its tokens must be made.
 */
export interface ResourceServer {
  id: string;
  /** Short handle for the API, the CLI and configuration files. */
  name: string;
  /** The absolute URI clients send as `resource` and tokens carry as `aud`. */
  identifier: string;
  /** The accountable human (an email), as for other inventory objects. */
  owner: string;
  description: string;
  scopes: string[];
  /** The longest access token issued for it (shorter client settings still win); null: no cap. */
  accessTokenTtlSeconds: number | null;
  /** Tokens for it must be sender-constrained (DPoP `cnf.jkt` or mTLS `cnf.x5t#S256`). */
  senderConstrained: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface ResourceServerInput {
  name: string;
  identifier: string;
  owner: string;
  description?: string;
  scopes?: string[];
  accessTokenTtlSeconds?: number | null;
  senderConstrained?: boolean;
}
export type ResourceServerPatch = Partial<Omit<ResourceServerInput, 'name' | 'identifier'>>;

export interface ResourceServersRepo {
  insert(rs: ResourceServer): Promise<void>;
  update(rs: ResourceServer): Promise<void>;
  delete(name: string): Promise<boolean>;
  get(name: string): Promise<ResourceServer | null>;
  getByIdentifier(identifier: string): Promise<ResourceServer | null>;
  list(): Promise<ResourceServer[]>;
  /**
   * The token endpoint's look-up, in one statement: the server with this identifier, and whether
   * any resource server is registered (the compatibility switch of `checkTargets`).
   */
  findTarget(identifier: string): Promise<{ server: ResourceServer | null; anyRegistered: boolean }>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    oauthResourceServers: ResourceServersRepo;
  }
}

export const resourceServersMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oauth_resource_servers')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('identifier', 'varchar(512)', (c) => c.notNull().unique())
      .addColumn('owner', 'varchar(200)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('access_token_ttl_seconds', 'integer')
      .addColumn('sender_constrained', 'integer', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

interface Row {
  id: string;
  name: string;
  identifier: string;
  owner: string;
  description: string;
  scopes: string;
  access_token_ttl_seconds: number | null;
  sender_constrained: number;
  created_at_ms: number | string;
  updated_at_ms: number | string;
}

const toRow = (s: ResourceServer): Row => ({
  id: s.id,
  name: s.name,
  identifier: s.identifier,
  owner: s.owner,
  description: s.description,
  scopes: JSON.stringify(s.scopes),
  access_token_ttl_seconds: s.accessTokenTtlSeconds,
  sender_constrained: s.senderConstrained ? 1 : 0,
  created_at_ms: s.createdAtMs,
  updated_at_ms: s.updatedAtMs,
});

const fromRow = (r: Row): ResourceServer => ({
  id: r.id,
  name: r.name,
  identifier: r.identifier,
  owner: r.owner,
  description: r.description,
  scopes: JSON.parse(r.scopes) as string[],
  accessTokenTtlSeconds: r.access_token_ttl_seconds === null ? null : Number(r.access_token_ttl_seconds),
  senderConstrained: Number(r.sender_constrained) === 1,
  createdAtMs: Number(r.created_at_ms),
  updatedAtMs: Number(r.updated_at_ms),
});

type RsDb = Kysely<{ oauth_resource_servers: Row }>;
// The token endpoint reads these on every request naming a resource: prepared once (ADR 0049).
const byNameQuery = prepared((db, name: string) =>
  (db as unknown as RsDb).selectFrom('oauth_resource_servers').selectAll().where('name', '=', name),
);
const byIdentifierQuery = prepared((db, identifier: string) =>
  (db as unknown as RsDb)
    .selectFrom('oauth_resource_servers')
    .selectAll()
    .where('identifier', '=', identifier),
);
// The server with the identifier, and (so that an empty result means an empty registry) any one.
const targetQuery = prepared((db, identifier: string) =>
  (db as unknown as RsDb)
    .selectFrom('oauth_resource_servers')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('identifier', '=', identifier),
        eb('id', '=', eb.selectFrom('oauth_resource_servers').select('id').limit(1)),
      ]),
    ),
);

export function createResourceServersRepo(target: QueryTarget): ResourceServersRepo {
  const table = target.db as unknown as RsDb;
  const first = (rows: Row[]) => (rows[0] ? fromRow(rows[0]) : null);
  return {
    async insert(rs) {
      await table.insertInto('oauth_resource_servers').values(toRow(rs)).execute();
    },
    async update(rs) {
      const { id: _id, name: _name, identifier: _identifier, created_at_ms: _c, ...rest } = toRow(rs);
      await table.updateTable('oauth_resource_servers').set(rest).where('name', '=', rs.name).execute();
    },
    async delete(name) {
      const result = await table
        .deleteFrom('oauth_resource_servers')
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    get: async (name) => first(await byNameQuery(target, name)),
    getByIdentifier: async (identifier) => first(await byIdentifierQuery(target, identifier)),
    async list() {
      const rows = await table.selectFrom('oauth_resource_servers').selectAll().orderBy('name').execute();
      return rows.map(fromRow);
    },
    async findTarget(identifier) {
      const rows = await targetQuery(target, identifier);
      const match = rows.find((row) => row.identifier === identifier);
      return { server: match ? fromRow(match) : null, anyRegistered: rows.length > 0 };
    },
  };
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const MAX_SCOPES = 100;

/** RFC 8707 §2: an absolute URI without a fragment. */
export function identifierProblem(value: string): string | null {
  if (value.length > 512) return 'identifier is longer than 512 characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'identifier must be an absolute URI (RFC 8707 §2)';
  }
  if (value.includes('#') || url.hash) return 'identifier must not have a fragment (RFC 8707 §2)';
  return null;
}

/** Checks and completes an input; throws a validation error naming the field. */
export function checkResourceServerInput(
  input: ResourceServerInput,
): Omit<ResourceServer, 'id' | 'createdAtMs' | 'updatedAtMs'> {
  if (!NAME.test(input.name))
    throw validationError('name must be 1–64 lower-case letters, digits, ".", "_" or "-".', {
      field: 'name',
    });
  const problem = identifierProblem(input.identifier);
  if (problem) throw validationError(`${problem}.`, { field: 'identifier' });
  return { name: input.name, identifier: input.identifier, ...checkPatch(input, null) };
}

function checkPatch(
  patch: ResourceServerPatch,
  previous: ResourceServer | null,
): Omit<ResourceServer, 'id' | 'name' | 'identifier' | 'createdAtMs' | 'updatedAtMs'> {
  const owner = patch.owner ?? previous?.owner ?? '';
  if (owner.length < 1 || owner.length > 200)
    throw validationError('owner is required (1–200 characters).', { field: 'owner' });
  const scopes = patch.scopes ?? previous?.scopes ?? [];
  if (scopes.length > MAX_SCOPES) throw validationError('at most 100 scopes.', { field: 'scopes' });
  const bad = scopes.find((s) => !SCOPE.test(s));
  if (bad !== undefined)
    throw validationError('a scope is 1–100 printable characters without spaces, quotes or backslashes.', {
      field: 'scopes',
    });
  const ttl =
    patch.accessTokenTtlSeconds === undefined
      ? (previous?.accessTokenTtlSeconds ?? null)
      : patch.accessTokenTtlSeconds;
  if (ttl !== null && (!Number.isInteger(ttl) || ttl < 30 || ttl > 86_400))
    throw validationError('accessTokenTtlSeconds must be an integer from 30 to 86400.', {
      field: 'accessTokenTtlSeconds',
    });
  return {
    owner,
    description: patch.description ?? previous?.description ?? '',
    scopes: [...new Set(scopes)].sort(),
    accessTokenTtlSeconds: ttl,
    senderConstrained: patch.senderConstrained ?? previous?.senderConstrained ?? false,
  };
}

const changedFields = (a: ResourceServer, b: ResourceServer) =>
  (['owner', 'description', 'scopes', 'accessTokenTtlSeconds', 'senderConstrained'] as const).filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );

/** The audit event of a registry change (`oauth.resource_server_*`). */
export const resourceServerEvent = (
  type: 'created' | 'updated' | 'deleted',
  rs: ResourceServer,
  data: Record<string, unknown> = {},
) => ({
  type: `oauth.resource_server_${type}`,
  outcome: 'success' as const,
  actor: {},
  resource: `/oauth/resource-servers/${rs.name}`,
  data: { resourceServerId: rs.id, identifier: rs.identifier, owner: rs.owner, ...data },
});

/** Writes a checked resource server into the registry (API and config kind alike). */
export async function insertResourceServer(
  r: Repos,
  rs: ResourceServer,
  ctx: RequestContext,
  nowMs: number,
): Promise<void> {
  if (await r.oauthResourceServers.get(rs.name)) throw conflict(`A resource server named ${rs.name} exists.`);
  if (await r.oauthResourceServers.getByIdentifier(rs.identifier))
    throw conflict('A resource server with this identifier exists.');
  await r.oauthResourceServers.insert(rs);
  await r.audit.append(
    resourceServerEvent('created', rs, {
      scopes: rs.scopes,
      accessTokenTtlSeconds: rs.accessTokenTtlSeconds,
      senderConstrained: rs.senderConstrained,
    }),
    ctx,
    nowMs,
  );
}

/** Applies a patch; returns the stored result and the fields that changed. */
export async function updateResourceServer(
  r: Repos,
  name: string,
  patch: ResourceServerPatch,
  ctx: RequestContext,
  nowMs: number,
): Promise<ResourceServer> {
  const current = await r.oauthResourceServers.get(name);
  if (!current) throw notFound('The resource server');
  const next: ResourceServer = { ...current, ...checkPatch(patch, current), updatedAtMs: nowMs };
  const changed = changedFields(current, next);
  if (changed.length === 0) return current;
  await r.oauthResourceServers.update(next);
  await r.audit.append(resourceServerEvent('updated', next, { changed }), ctx, nowMs);
  return next;
}

export async function deleteResourceServer(
  r: Repos,
  name: string,
  ctx: RequestContext,
  nowMs: number,
): Promise<void> {
  const current = await r.oauthResourceServers.get(name);
  if (!current) throw notFound('The resource server');
  await r.oauthResourceServers.delete(name);
  await r.audit.append(resourceServerEvent('deleted', current), ctx, nowMs);
}

/** The registry's native API (`/v1/oauth/resource-servers`). */
export function createResourceServersService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
}) {
  const { uow, clock, credentials } = deps;
  return {
    async create(input: ResourceServerInput, ctx: RequestContext): Promise<ResourceServer> {
      const now = clock.nowMs();
      const rs: ResourceServer = {
        id: credentials.newId('rs-'),
        ...checkResourceServerInput(input),
        createdAtMs: now,
        updatedAtMs: now,
      };
      await uow.write((r) => insertResourceServer(r, rs, ctx, now));
      return rs;
    },
    list: () => uow.read((r) => r.oauthResourceServers.list()),
    async get(name: string): Promise<ResourceServer> {
      const rs = await uow.read((r) => r.oauthResourceServers.get(name));
      if (!rs) throw notFound('The resource server');
      return rs;
    },
    update: (name: string, patch: ResourceServerPatch, ctx: RequestContext) =>
      uow.write((r) => updateResourceServer(r, name, patch, ctx, clock.nowMs())),
    delete: (name: string, ctx: RequestContext) =>
      uow.write((r) => deleteResourceServer(r, name, ctx, clock.nowMs())),
  };
}
export type ResourceServersService = ReturnType<typeof createResourceServersService>;

/** What the token endpoint learns from the requested resources. */
export interface TargetCheck {
  /** The registered resource servers among the targets (implicit MCP audiences are not). */
  registered: ResourceServer[];
}

/**
 * RFC 8707 at the token endpoint (ADR 0038): each requested `resource` must be a registered
 * resource server or the gateway URL of an MCP server (registered implicitly); a deployment with no
 * resource server registered keeps checking only the client's own `resources` list.
 */
export async function checkTargets(
  r: ReadRepos,
  resources: readonly string[],
  isMcpAudience: (r: ReadRepos, resource: string) => Promise<boolean>,
): Promise<TargetCheck | OAuthError> {
  const registered: ResourceServer[] = [];
  for (const resource of resources) {
    const { server, anyRegistered } = await r.oauthResourceServers.findTarget(resource);
    if (server) {
      registered.push(server);
      continue;
    }
    if (await isMcpAudience(r, resource)) continue;
    if (anyRegistered)
      return new OAuthError(
        'invalid_target',
        'A requested resource is not a registered resource server.',
        400,
        'resource_not_registered',
      );
  }
  return { registered };
}

/** Whether every registered target accepts `scope`. */
const allowedByTargets = (targets: readonly ResourceServer[], scope: string) =>
  targets.every((t) => t.scopes.includes(scope));

/**
 * What the registered targets make of a token (ADR 0038): an explicitly requested scope they do
 * not all list is `invalid_scope`; otherwise the scopes are narrowed to those they accept. A
 * sender-constrained target refuses an unbound token. The lifetime is capped by the shortest TTL.
 */
export function applyTargets(
  targets: TargetCheck,
  scopes: readonly string[],
  options: { scopeRequested: boolean; bound: boolean },
): { scopes: string[]; ttlSeconds: number | null } | OAuthError {
  const registered = targets.registered;
  if (options.scopeRequested && scopes.some((scope) => !allowedByTargets(registered, scope)))
    return new OAuthError(
      'invalid_scope',
      'A requested scope is not allowed by the resource server.',
      400,
      'scope_not_allowed_by_resource',
    );
  if (!options.bound && registered.some((t) => t.senderConstrained))
    return new OAuthError(
      'invalid_request',
      'The resource server requires sender-constrained tokens (DPoP or mTLS).',
      400,
      'resource_requires_bound_token',
    );
  const caps = registered.flatMap((t) => (t.accessTokenTtlSeconds === null ? [] : [t.accessTokenTtlSeconds]));
  return {
    scopes: scopes.filter((scope) => allowedByTargets(registered, scope)),
    ttlSeconds: caps.length ? Math.min(...caps) : null,
  };
}

import { type Kysely, type Migration, sql } from 'kysely';
import { namesNoOwner } from '../../core/identities/identities.model.js';
import type { RequestContext } from '../../core/shared/context.js';
import { notFound, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import { Name } from '../../core/shared/schemas.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { QueryTarget } from '../../storage/prepared.js';

/**
 * Initial access tokens for RFC 7591 dynamic registration confined to a path (issue 12, ADR 0047):
 * an administrator issues one (`tri-…`, shown once, stored as its SHA-256), for a name pattern
 * (`/ci/*` or one exact name), with an expiry and optionally a number of uses. A client registered
 * with it is named inside the pattern and gets a new identity of the same name, owned by the
 * token's owner (ADR 0052).
 */
export interface InitialAccessToken {
  id: string;
  /** `/ci/*` (any name under `/ci/`) or an exact client name. */
  path: string;
  description: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Null: any number of registrations until it expires. */
  maxUses: number | null;
  uses: number;
  revokedAtMs: number | null;
  /** The identity of the administrator who issued it. */
  createdBy: string | null;
  /**
   * The human accountable for the identities it creates (an identity's `owner`: `person:…`,
   * `group:…`), copied to each; `unassigned` only for tokens issued before owners (ADR 0052).
   */
  owner: string;
}

export type InitialAccessTokenState = 'active' | 'expired' | 'revoked' | 'used_up';

export const initialTokenState = (t: InitialAccessToken, nowMs: number): InitialAccessTokenState =>
  t.revokedAtMs !== null
    ? 'revoked'
    : t.expiresAtMs <= nowMs
      ? 'expired'
      : t.maxUses !== null && t.uses >= t.maxUses
        ? 'used_up'
        : 'active';

export interface InitialAccessTokensRepo {
  insert(token: InitialAccessToken & { tokenHash: string }): Promise<void>;
  get(id: string): Promise<InitialAccessToken | null>;
  list(limit: number, afterId: string | null): Promise<InitialAccessToken[]>;
  /** The token with this hash, usable or not (registration, leak reports). */
  findByHash(tokenHash: string): Promise<InitialAccessToken | null>;
  /**
   * Spends one use of a live token in one statement (a conditional update: two servers cannot both
   * spend the last use); the token as it is after, or null when it is not live.
   */
  consume(tokenHash: string, nowMs: number): Promise<InitialAccessToken | null>;
  /** Gives a use back (the registration it paid for did not happen). */
  refund(id: string): Promise<void>;
  /** True when it was live and is now revoked. */
  revoke(id: string, nowMs: number): Promise<boolean>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    oauthInitialAccessTokens: InitialAccessTokensRepo;
  }
}

export const initialAccessTokensMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oauth_initial_access_tokens')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('path', 'varchar(256)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('max_uses', 'integer')
      .addColumn('uses', 'integer', (c) => c.notNull())
      .addColumn('revoked_at_ms', 'bigint')
      .addColumn('created_by', 'varchar(64)')
      .execute();
  },
};

/**
 * Registration tokens carry the owner of the identities they create (ADR 0052). A token issued
 * before takes its issuer's owner (what a new one defaults to); one with no known issuer stays
 * `null`, read as `unassigned` (what its identities got until now).
 */
export const initialAccessTokenOwnerMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('oauth_initial_access_tokens').addColumn('owner', 'varchar(200)').execute();
    await sql`update oauth_initial_access_tokens set owner = (select i.owner from identities i where i.id = oauth_initial_access_tokens.created_by) where owner is null`.execute(
      db,
    );
  },
};

/** What a token without a recorded owner (issued before ADR 0052, by no known issuer) gives. */
export const UNASSIGNED_OWNER = 'unassigned';

interface Row {
  id: string;
  token_hash: string;
  path: string;
  description: string;
  created_at_ms: number | string;
  expires_at_ms: number | string;
  max_uses: number | null;
  uses: number | string;
  revoked_at_ms: number | string | null;
  created_by: string | null;
  owner: string | null;
}

const COLUMNS = [
  'id',
  'path',
  'description',
  'created_at_ms',
  'expires_at_ms',
  'max_uses',
  'uses',
  'revoked_at_ms',
  'created_by',
  'owner',
] as const;

const fromRow = (r: Omit<Row, 'token_hash'>): InitialAccessToken => ({
  id: r.id,
  path: r.path,
  description: r.description,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  maxUses: r.max_uses === null ? null : Number(r.max_uses),
  uses: Number(r.uses),
  revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
  createdBy: r.created_by,
  owner: r.owner ?? UNASSIGNED_OWNER,
});

export function createInitialAccessTokensRepo({ db }: QueryTarget): InitialAccessTokensRepo {
  const table = db as unknown as Kysely<{ oauth_initial_access_tokens: Row }>;
  return {
    async insert(t) {
      await table
        .insertInto('oauth_initial_access_tokens')
        .values({
          id: t.id,
          token_hash: t.tokenHash,
          path: t.path,
          description: t.description,
          created_at_ms: t.createdAtMs,
          expires_at_ms: t.expiresAtMs,
          max_uses: t.maxUses,
          uses: t.uses,
          revoked_at_ms: t.revokedAtMs,
          created_by: t.createdBy,
          owner: t.owner,
        })
        .execute();
    },
    async get(id) {
      const row = await table
        .selectFrom('oauth_initial_access_tokens')
        .select(COLUMNS)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? fromRow(row) : null;
    },
    async list(limit, afterId) {
      let q = table.selectFrom('oauth_initial_access_tokens').select(COLUMNS).orderBy('id').limit(limit);
      if (afterId !== null) q = q.where('id', '>', afterId);
      return (await q.execute()).map(fromRow);
    },
    async findByHash(tokenHash) {
      const row = await table
        .selectFrom('oauth_initial_access_tokens')
        .select(COLUMNS)
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? fromRow(row) : null;
    },
    async consume(tokenHash, nowMs) {
      const row = await table
        .updateTable('oauth_initial_access_tokens')
        .set({ uses: sql`uses + 1` })
        .where('token_hash', '=', tokenHash)
        .where('revoked_at_ms', 'is', null)
        .where('expires_at_ms', '>', nowMs)
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
        .returning(COLUMNS)
        .executeTakeFirst();
      return row ? fromRow(row) : null;
    },
    async refund(id) {
      await table
        .updateTable('oauth_initial_access_tokens')
        .set({ uses: sql`uses - 1` })
        .where('id', '=', id)
        .where('uses', '>', 0)
        .execute();
    },
    async revoke(id, nowMs) {
      const result = await table
        .updateTable('oauth_initial_access_tokens')
        .set({ revoked_at_ms: nowMs })
        .where('id', '=', id)
        .where('revoked_at_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

const NAME = new RegExp(Name.pattern as string);
/** Longest lifetime of an initial access token: registration is an onboarding step, not a standing right. */
export const MAX_INITIAL_TOKEN_TTL_SECONDS = 30 * 86_400;

/** Whether `path` is `/a/b/*` or an exact client name. */
export function checkPathPattern(path: string): string {
  const base = path.endsWith('/*') ? path.slice(0, -2) : path;
  if (
    path === '/*' ||
    (base.length > 1 && base.length <= 200 && base.startsWith('/') && NAME.test(base) && !base.includes('*'))
  )
    return path;
  throw validationError('path must be a client name (/ci/deployer) or a name followed by /* (/ci/*).', {
    field: 'path',
  });
}

/** Whether client `name` is inside `path` (`/ci/*`: any name below `/ci/`; otherwise: exactly it). */
export function pathAllows(path: string, name: string): boolean {
  if (path === '/*') return name.startsWith('/');
  if (path.endsWith('/*')) {
    const prefix = path.slice(0, -1); // keeps the trailing slash
    return name.length > prefix.length && name.startsWith(prefix);
  }
  return name === path;
}

/** The issue/list/revoke side (native API, CLI); registration spends tokens (oauth-registration.ts). */
export function createInitialAccessTokensService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  newToken: () => string;
}) {
  const { uow, clock, credentials } = deps;
  const event = (type: string, t: InitialAccessToken, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/oauth/registration-tokens/${t.id}`,
    data: { registrationTokenId: t.id, path: t.path, ...data },
  });
  /**
   * The owner a token records: the one given, else its issuer's own owner (a person's session is
   * owned by `person:<id>`; an access key by whoever its identity names). Never one meaning nobody:
   * every identity a token creates must answer to someone (ADR 0052).
   */
  async function ownerOf(given: string | undefined, ctx: RequestContext): Promise<string> {
    if (given !== undefined) {
      const owner = given.trim();
      if (owner.length === 0 || owner.length > 200 || namesNoOwner(owner))
        throw validationError(
          'owner must name the person or group accountable for the identities it creates (person:alice@example.com, group:platform).',
          { field: 'owner' },
        );
      return owner;
    }
    const issuerId = ctx.actor?.identityId;
    const issuer = issuerId ? await uow.read((r) => r.identities.get(issuerId)) : null;
    if (!issuer || namesNoOwner(issuer.owner))
      throw validationError(
        'owner is required: the caller has no owner to give the identities this token creates (person:alice@example.com, group:platform).',
        { field: 'owner' },
      );
    return issuer.owner;
  }

  return {
    async create(
      input: {
        path: string;
        ttlSeconds: number;
        maxUses?: number | null;
        description?: string;
        owner?: string;
      },
      ctx: RequestContext,
    ) {
      const path = checkPathPattern(input.path);
      const owner = await ownerOf(input.owner, ctx);
      if (
        !Number.isInteger(input.ttlSeconds) ||
        input.ttlSeconds < 60 ||
        input.ttlSeconds > MAX_INITIAL_TOKEN_TTL_SECONDS
      )
        throw validationError(`ttlSeconds must be 60 to ${MAX_INITIAL_TOKEN_TTL_SECONDS}.`, {
          field: 'ttlSeconds',
        });
      const now = clock.nowMs();
      const token = deps.newToken();
      const record: InitialAccessToken = {
        id: credentials.newId('rit-', 16),
        path,
        description: input.description ?? '',
        createdAtMs: now,
        expiresAtMs: now + input.ttlSeconds * 1000,
        maxUses: input.maxUses ?? null,
        uses: 0,
        revokedAtMs: null,
        createdBy: ctx.actor?.identityId ?? null,
        owner,
      };
      await uow.write(async (r) => {
        await r.oauthInitialAccessTokens.insert({ ...record, tokenHash: credentials.hashCredential(token) });
        await r.audit.append(
          event('oauth.registration_token_created', record, {
            expiresAt: new Date(record.expiresAtMs).toISOString(),
            maxUses: record.maxUses,
            owner,
          }),
          ctx,
          now,
        );
      });
      return { registrationToken: record, token };
    },
    async list(limit: number, cursor: string | null) {
      const items = await uow.read((r) => r.oauthInitialAccessTokens.list(limit + 1, cursor));
      const more = items.length > limit;
      const page = items.slice(0, limit);
      return { items: page, nextCursor: more ? page[page.length - 1]!.id : null };
    },
    async get(id: string) {
      const t = await uow.read((r) => r.oauthInitialAccessTokens.get(id));
      if (!t) throw notFound('The registration token');
      return t;
    },
    /** Ends a token now; revoking a token that already ended changes nothing. */
    async revoke(id: string, ctx: RequestContext) {
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const t = await r.oauthInitialAccessTokens.get(id);
        if (!t) throw notFound('The registration token');
        if (await r.oauthInitialAccessTokens.revoke(id, now))
          await r.audit.append(event('oauth.registration_token_revoked', t), ctx, now);
        return (await r.oauthInitialAccessTokens.get(id)) as InitialAccessToken;
      });
    },
  };
}

export type InitialAccessTokensService = ReturnType<typeof createInitialAccessTokensService>;

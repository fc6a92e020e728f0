import { Type } from '@sinclair/typebox';
import { allOf, authMethodResource } from '../../core/access/access.resources.js';
import {
  Cursor,
  IsoTime,
  Limit,
  Nullable,
  StringEnum,
  toIso,
  toIsoOrNull,
} from '../../core/shared/schemas.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import {
  type InitialAccessToken,
  type InitialAccessTokensService,
  initialTokenState,
  MAX_INITIAL_TOKEN_TTL_SECONDS,
} from './oauth-initial-tokens.js';

const tags = ['oauth'];
const STATES = ['active', 'expired', 'revoked', 'used_up'] as const;

const RegistrationTokenSchema = Type.Object(
  {
    id: Type.String({ description: 'The token id (`rit-…`): what audit events and listings name.' }),
    path: Type.String({ description: 'Clients registered with it are named inside this path.' }),
    description: Type.String(),
    state: StringEnum(STATES),
    createdAt: IsoTime,
    expiresAt: IsoTime,
    maxUses: Nullable(Type.Integer({ description: 'Null: any number of registrations.' })),
    uses: Type.Integer(),
    revokedAt: Nullable(IsoTime),
    createdBy: Nullable(Type.String({ description: 'The identity that issued it.' })),
    owner: Type.String({
      description:
        'The owner of every identity it creates (`person:…`, `group:…`); `unassigned` only for tokens issued before owners were recorded.',
    }),
  },
  { $id: 'RegistrationToken' },
);

const toWire = (t: InitialAccessToken, nowMs: number) => ({
  id: t.id,
  path: t.path,
  description: t.description,
  state: initialTokenState(t, nowMs),
  createdAt: toIso(t.createdAtMs),
  expiresAt: toIso(t.expiresAtMs),
  maxUses: t.maxUses,
  uses: t.uses,
  revokedAt: toIsoOrNull(t.revokedAtMs),
  createdBy: t.createdBy,
  owner: t.owner,
});

const Params = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$', description: 'rit-…' }) },
  { additionalProperties: false },
);

/**
 * `/v1/oauth/registration-tokens` (ADR 0047): RFC 7591 initial access tokens confined to a path.
 * Issuing one needs `create` on `auth-method:<path>` (no one hands out more than they hold), and
 * so does revoking one (whoever may issue a token for a path may end one: ADR 0052); listing and
 * reading need `list`/`read` on every auth method (they show every path).
 */
export function registerInitialAccessTokenRoutes(
  app: TypedApp,
  deps: { registrationTokens: InitialAccessTokensService; nowMs: () => number },
) {
  const svc = deps.registrationTokens;
  app.addSchema(RegistrationTokenSchema);

  app.post(
    '/v1/oauth/registration-tokens',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => authMethodResource((r.body as { path: string }).path),
          },
        },
      },
      schema: {
        tags,
        summary: 'Issue a registration token (an RFC 7591 initial access token confined to a path)',
        body: Type.Object(
          {
            path: Type.String({
              minLength: 2,
              maxLength: 202,
              description: 'A client name (`/ci/deployer`) or a name followed by `/*` (`/ci/*`).',
            }),
            ttlSeconds: Type.Integer({
              minimum: 60,
              maximum: MAX_INITIAL_TOKEN_TTL_SECONDS,
              description: 'How long it can be used.',
            }),
            maxUses: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Absent: unlimited.' }),
            ),
            description: Type.Optional(Type.String({ maxLength: 500 })),
            owner: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description:
                  'Who answers for the identities it creates (`person:alice@example.com`, `group:platform`); default: the caller’s own owner. `unassigned` and the like are refused.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            registrationToken: Type.Ref('RegistrationToken'),
            token: Type.String({ description: 'The token (`tri-…`), shown only now.' }),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const { registrationToken, token } = await svc.create(request.body, request.ctx);
      reply.status(201);
      return { registrationToken: toWire(registrationToken, deps.nowMs()), token };
    },
  );

  app.get(
    '/v1/oauth/registration-tokens',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('auth-method') } } },
      schema: {
        tags,
        summary: 'List registration tokens (never the tokens themselves)',
        querystring: Type.Object(
          { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('RegistrationToken')),
            nextCursor: Nullable(Type.String()),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const page = await svc.list(request.query.limit ?? 50, request.query.cursor ?? null);
      const now = deps.nowMs();
      return { items: page.items.map((t) => toWire(t, now)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/oauth/registration-tokens/:id',
    {
      config: { access: { permission: { action: 'read', resource: () => allOf('auth-method') } } },
      schema: {
        tags,
        summary: 'Get a registration token',
        params: Params,
        response: { 200: Type.Ref('RegistrationToken'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await svc.get(request.params.id), deps.nowMs()),
  );

  app.post(
    '/v1/oauth/registration-tokens/:id/revoke',
    {
      config: {
        access: {
          permission: {
            // The right that issues a token for its path (an unknown id is checked under the id
            // itself: the caller learns nothing it could not issue).
            action: 'create',
            resource: async (r) => {
              const id = (r.params as { id: string }).id;
              return authMethodResource((await svc.get(id).catch(() => null))?.path ?? `/${id}`);
            },
          },
        },
      },
      schema: {
        tags,
        summary: 'Revoke a registration token (clients it registered stay)',
        params: Params,
        response: { 200: Type.Ref('RegistrationToken'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await svc.revoke(request.params.id, request.ctx), deps.nowMs()),
  );
}

import { type Static, Type } from '@sinclair/typebox';
import { allOf, authMethodResource } from '../../core/access/access.resources.js';
import { CLIENT_AUTH_METHODS } from '../../core/auth-methods/auth-methods.model.js';
import {
  AccessId,
  Cursor,
  IsoTime,
  Limit,
  Name,
  Nullable,
  StringEnum,
  toIso,
  toIsoOrNull,
} from '../../core/shared/schemas.js';
import { authMethodById } from '../../http/access.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import { OAUTH_GRANT_TYPES } from './oauth.model.js';
import type { OAuthClient, OAuthClientsService } from './oauth-clients.service.js';

const tags = ['oauth'];
const Jwk = Type.Record(Type.String({ maxLength: 16 }), Type.Unknown(), { maxProperties: 16 });
const Settings = {
  tokenEndpointAuthMethod: Type.Optional(StringEnum(CLIENT_AUTH_METHODS)),
  jwks: Type.Optional(Nullable(Type.Object({ keys: Type.Array(Jwk, { maxItems: 10 }) }))),
  jwksUri: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          'private_key_jwt: where the public keys are published (https; http only on loopback); not with jwks.',
      }),
    ),
  ),
  scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
  resources: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 50 })),
  accessTokenTtlSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 86_400 })),
  dpopBoundAccessTokens: Type.Optional(Type.Boolean()),
  mayActFor: Type.Optional(
    Type.Array(Type.String({ minLength: 3, maxLength: 64 }), {
      maxItems: 50,
      description: 'Token exchange: client ids whose tokens this client may exchange (RFC 8693).',
    }),
  ),
  delegation: Type.Optional(
    Type.Array(
      Type.Object(
        {
          subject: Type.String({
            minLength: 3,
            maxLength: 64,
            description: 'The subject tokens’ client id.',
          }),
          audiences: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
              maxItems: 50,
              description: 'Audiences the exchanged token may name (absent: any of the client’s resources).',
            }),
          ),
          scopes: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
              maxItems: 50,
              description: 'Scopes it may carry (absent: any of the subject token’s).',
            }),
          ),
          impersonation: Type.Optional(
            Type.Boolean({ description: 'An exchange without actor_token issues a token without act.' }),
          ),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 50,
        description: 'Token exchange rules narrower than mayActFor, one per subject client (ADR 0039).',
      },
    ),
  ),
  trustedIssuers: Type.Optional(
    Type.Array(
      Type.Object(
        {
          issuer: Type.String({ minLength: 1, maxLength: 512 }),
          jwks: Type.Object({ keys: Type.Array(Jwk, { maxItems: 10 }) }),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: 10,
        description: 'JWT-bearer grant (RFC 7523 §2.1): issuers whose assertions the client may present.',
      },
    ),
  ),
  grantTypes: Type.Optional(
    Nullable(
      Type.Array(StringEnum(OAUTH_GRANT_TYPES), {
        minItems: 1,
        maxItems: OAUTH_GRANT_TYPES.length,
        description:
          'The grant types the client may use (another is unauthorized_client); null: every grant its other settings enable.',
      }),
    ),
  ),
  tlsClientAuthSubjectDn: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 500, description: 'tls_client_auth: the subject DN.' })),
  ),
  tlsClientAuthSanUri: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 500, description: 'tls_client_auth: a URI SAN.' })),
  ),
  tlsClientAuthSanDns: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 500, description: 'tls_client_auth: a DNS SAN.' })),
  ),
  cibaDeliveryMode: Type.Optional(
    StringEnum(['poll', 'ping'] as const, 'CIBA token delivery (OpenID CIBA Core §5); default poll.'),
  ),
  cibaNotificationEndpoint: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          'CIBA ping: where the auth_req_id is POSTed once decided (https; http only on loopback).',
      }),
    ),
  ),
  boundCidrs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 })),
  expiresAt: Type.Optional(Nullable(IsoTime)),
};
const CreateBody = Type.Object(
  {
    name: Name,
    identityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ...Settings,
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(Settings, { additionalProperties: false, minProperties: 1 });
const OAuthClientSchema = Type.Object(
  {
    clientId: Type.String({ description: 'The client_id: the auth method access id (p-…).' }),
    name: Type.String(),
    identityId: Type.String(),
    tokenEndpointAuthMethod: StringEnum(CLIENT_AUTH_METHODS),
    jwks: Nullable(Type.Object({ keys: Type.Array(Jwk) })),
    jwksUri: Nullable(Type.String()),
    scopes: Type.Array(Type.String()),
    resources: Type.Array(Type.String()),
    accessTokenTtlSeconds: Type.Integer(),
    dpopBoundAccessTokens: Type.Boolean(),
    mayActFor: Type.Array(Type.String()),
    delegation: Type.Array(
      Type.Object({
        subject: Type.String(),
        audiences: Type.Optional(Type.Array(Type.String())),
        scopes: Type.Optional(Type.Array(Type.String())),
        impersonation: Type.Optional(Type.Boolean()),
      }),
    ),
    trustedIssuers: Type.Array(
      Type.Object({ issuer: Type.String(), jwks: Type.Object({ keys: Type.Array(Jwk) }) }),
    ),
    grantTypes: Nullable(Type.Array(Type.String())),
    tlsClientAuthSubjectDn: Nullable(Type.String()),
    tlsClientAuthSanUri: Nullable(Type.String()),
    tlsClientAuthSanDns: Nullable(Type.String()),
    cibaDeliveryMode: StringEnum(['poll', 'ping'] as const),
    cibaNotificationEndpoint: Nullable(Type.String()),
    boundCidrs: Type.Array(Type.String()),
    expiresAt: Nullable(IsoTime),
    createdAt: IsoTime,
    updatedAt: IsoTime,
  },
  { $id: 'OAuthClient' },
);
const Created = Type.Object({
  client: Type.Ref('OAuthClient'),
  clientSecret: Type.Optional(Type.String({ description: 'Shown once (client_secret_* clients).' })),
});
const Params = Type.Object({ id: AccessId });

function toWire(c: OAuthClient): Static<typeof OAuthClientSchema> {
  const s = c.settings;
  return {
    clientId: c.id,
    name: c.name,
    identityId: c.identityId,
    tokenEndpointAuthMethod: s.tokenEndpointAuthMethod,
    jwks: s.jwks,
    jwksUri: s.jwksUri ?? null,
    scopes: s.scopes,
    resources: s.resources,
    accessTokenTtlSeconds: s.jwtTtlSeconds,
    dpopBoundAccessTokens: s.dpopBoundAccessTokens,
    mayActFor: s.mayActFor ?? [],
    delegation: s.delegation ?? [],
    trustedIssuers: s.trustedIssuers ?? [],
    grantTypes: s.grantTypes ?? null,
    tlsClientAuthSubjectDn: s.tlsClientAuthSubjectDn ?? null,
    tlsClientAuthSanUri: s.tlsClientAuthSanUri ?? null,
    tlsClientAuthSanDns: s.tlsClientAuthSanDns ?? null,
    cibaDeliveryMode: s.cibaDeliveryMode ?? 'poll',
    cibaNotificationEndpoint: s.cibaNotificationEndpoint ?? null,
    boundCidrs: c.boundCidrs,
    expiresAt: toIsoOrNull(c.expiresAtMs),
    createdAt: toIso(c.createdAtMs),
    updatedAt: toIso(c.updatedAtMs),
  };
}

/** The wire's settings in the auth method's terms. */
function settingsOf(body: Record<string, unknown>) {
  const out: Record<string, unknown> = {};
  for (const key of [
    'tokenEndpointAuthMethod',
    'jwks',
    'jwksUri',
    'scopes',
    'resources',
    'dpopBoundAccessTokens',
    'mayActFor',
    'delegation',
    'trustedIssuers',
    'grantTypes',
    'tlsClientAuthSubjectDn',
    'tlsClientAuthSanUri',
    'tlsClientAuthSanDns',
    'cibaDeliveryMode',
    'cibaNotificationEndpoint',
  ])
    if (body[key] !== undefined) out[key] = body[key];
  if (body.accessTokenTtlSeconds !== undefined) out.jwtTtlSeconds = body.accessTokenTtlSeconds;
  return out;
}
const expiresOf = (v: string | null | undefined) =>
  v === undefined ? {} : { expiresAtMs: v === null ? null : Date.parse(v) };

/** `/v1/oauth-clients`: OAuth clients are auth methods, checked as `auth-method` on their name. */
export function registerOAuthClientRoutes(app: TypedApp, deps: { clients: OAuthClientsService }) {
  const svc = deps.clients;
  app.addSchema(OAuthClientSchema);
  const theClient = authMethodById((id) => svc.get(id));

  app.post(
    '/v1/oauth-clients',
    {
      config: {
        access: {
          permission: {
            action: 'create',
            resource: (r) => authMethodResource((r.body as { name: string }).name),
          },
        },
      },
      schema: {
        tags,
        summary: 'Register an OAuth client',
        body: CreateBody,
        response: { 201: Created, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { client, clientSecret } = await svc.create(
        {
          name: b.name,
          ...(b.identityId ? { identityId: b.identityId } : {}),
          ...(b.owner ? { owner: b.owner } : {}),
          ...(b.boundCidrs ? { boundCidrs: b.boundCidrs } : {}),
          ...expiresOf(b.expiresAt),
          settings: settingsOf(b),
        },
        request.ctx,
      );
      reply.status(201);
      return { client: toWire(client), ...(clientSecret ? { clientSecret } : {}) };
    },
  );

  app.get(
    '/v1/oauth-clients',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('auth-method') } } },
      schema: {
        tags,
        summary: 'List OAuth clients',
        querystring: Type.Object(
          { limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('OAuthClient')),
            nextCursor: Nullable(Type.String()),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const page = await svc.list(request.query.limit ?? 50, request.query.cursor ?? null);
      return { items: page.items.map(toWire), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/oauth-clients/:id',
    {
      config: { access: { permission: { action: 'read', resource: theClient } } },
      schema: {
        tags,
        summary: 'Get an OAuth client',
        params: Params,
        response: { 200: Type.Ref('OAuthClient'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => toWire(await svc.get(request.params.id)),
  );

  app.patch(
    '/v1/oauth-clients/:id',
    {
      config: { access: { permission: { action: 'update', resource: theClient } } },
      schema: {
        tags,
        summary: 'Update an OAuth client',
        params: Params,
        body: UpdateBody,
        response: { 200: Type.Ref('OAuthClient'), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const b = request.body;
      return toWire(
        await svc.update(
          request.params.id,
          {
            ...(b.boundCidrs ? { boundCidrs: b.boundCidrs } : {}),
            ...expiresOf(b.expiresAt),
            settings: settingsOf(b),
          },
          request.ctx,
        ),
      );
    },
  );

  app.delete(
    '/v1/oauth-clients/:id',
    {
      config: { access: { permission: { action: 'delete', resource: theClient } } },
      schema: {
        tags,
        summary: 'Delete an OAuth client (its tokens stop working)',
        params: Params,
        response: { 204: { type: 'null' }, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await svc.delete(request.params.id, request.ctx);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/oauth-clients/:id/rotate-secret',
    {
      config: { access: { permission: { action: 'update', resource: theClient } } },
      schema: {
        tags,
        summary: 'Rotate an OAuth client secret (the new one is shown once)',
        params: Params,
        body: Type.Object(
          {
            graceSeconds: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: 86_400,
                description: 'How long the old secret still works.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Created, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { client, clientSecret } = await svc.rotateSecret(
        request.params.id,
        request.body.graceSeconds ?? 0,
        request.ctx,
      );
      return { client: toWire(client), clientSecret };
    },
  );
}

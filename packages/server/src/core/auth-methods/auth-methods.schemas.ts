import { type Static, Type } from '@sinclair/typebox';
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
} from '../shared/schemas.js';
import {
  type AuthMethod,
  isCertificateMethod,
  isOidcFederation,
  isUidMethod,
  uidChildCountLimit,
} from './auth-methods.model.js';

const Seconds = (description: string) => Type.Integer({ minimum: 1, maximum: 400 * 86_400, description });
const Cidrs = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 });

const UidSettingsFields = {
  ttlSeconds: Type.Optional(Seconds('TTL of root tokens and of a rotated token (seconds).')),
  jwtTtlSeconds: Type.Optional(Seconds('Lifetime of session tokens (seconds).')),
  childTtlLimitSeconds: Type.Optional(Seconds('Upper bound of a child token TTL (seconds).')),
  childCountLimit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100_000, description: 'Most live children one token may have.' }),
  ),
  treeLength: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 32, description: 'Maximum depth of a token tree.' }),
  ),
  denyRotate: Type.Optional(Type.Boolean()),
  denyInheritance: Type.Optional(Type.Boolean()),
  reusePolicy: Type.Optional(Type.Union([Type.Literal('revoke'), Type.Literal('flag')])),
  rotationGraceSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 3600 })),
};

const ClaimMatcher = Type.Union([
  Type.String({ minLength: 1, maxLength: 500 }),
  Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 50 }),
]);

/** `oidc_federation` settings (issue 13); the handler checks them and fills presets. */
const FederationFields = {
  preset: Type.Optional(
    StringEnum(
      [
        'github-actions',
        'gitlab',
        'kubernetes',
        'spiffe',
        'aws-eks',
        'azure-workload-identity',
        'gcp',
      ] as const,
      'Fills issuer conventions.',
    ),
  ),
  issuer: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 512,
      description:
        'The trusted `iss`; optional for a `spiffe` method with a `trustDomain` and a bundle (`jwks` or `bundleEndpoint`).',
    }),
  ),
  bundleEndpoint: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 512,
        description:
          '`spiffe` preset: the trust domain’s SPIFFE bundle endpoint (https_web), fetched and cached for its refresh hint, instead of a pinned `jwks`.',
      }),
    ),
  ),
  audience: Type.Optional(
    Type.Union([
      Type.String({ minLength: 1, maxLength: 512 }),
      Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 10 }),
    ]),
  ),
  algorithms: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { maxItems: 10 })),
  maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
  boundClaims: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 100 }), ClaimMatcher, { maxProperties: 30 }),
  ),
  identityTemplate: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
  createIdentities: Type.Optional(Type.Boolean()),
  oneTimeTokens: Type.Optional(
    Type.Boolean({ description: 'Accept each token once (needs a `jti`); default on for github-actions.' }),
  ),
  trustDomain: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description:
          '`spiffe` preset: the trust domain whose JWT-SVIDs without `iss` are accepted (with a pinned bundle).',
      }),
    ),
  ),
  jwks: Type.Optional(
    Nullable(
      Type.Object({
        keys: Type.Array(Type.Record(Type.String({ maxLength: 16 }), Type.Unknown(), { maxProperties: 16 }), {
          maxItems: 10,
        }),
      }),
    ),
  ),
};

/** `certificate` settings (issue 13). */
const CertificateFields = {
  caCertificates: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 32_768,
        description: 'PEM CA certificates this method trusts; absent or null: Tessera’s internal CA.',
      }),
    ),
  ),
  boundNames: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 500 }), {
      maxItems: 50,
      description: 'URI (SPIFFE ID) or DNS SAN patterns (`*` within a segment); one must match.',
    }),
  ),
};

const Common = {
  name: Name,
  identityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  boundCidrs: Type.Optional(Cidrs),
  expiresAt: Type.Optional(Nullable(IsoTime)),
};

/** One object for every type (clear errors for a wrong `type`); the service rejects settings a type does not take. */
export const CreateAuthMethodBody = Type.Object(
  {
    type: StringEnum(['access_key', 'universal_identity', 'oidc_federation', 'certificate'] as const),
    ...Common,
    ...UidSettingsFields,
    ...FederationFields,
    ...CertificateFields,
  },
  { additionalProperties: false },
);

export const UpdateAuthMethodBody = Type.Object(
  {
    ...UidSettingsFields,
    ...FederationFields,
    ...CertificateFields,
    boundCidrs: Type.Optional(Cidrs),
    expiresAt: Type.Optional(Nullable(IsoTime)),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AuthMethodSchema = Type.Object(
  {
    id: Type.String({ description: 'The access id (p-…).' }),
    name: Type.String(),
    type: StringEnum([
      'access_key',
      'universal_identity',
      'oauth_client',
      'oidc_federation',
      'certificate',
    ] as const),
    identityId: Type.String(),
    boundCidrs: Type.Array(Type.String()),
    expiresAt: Nullable(IsoTime),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    universalIdentity: Type.Optional(
      Type.Object({
        ttlSeconds: Type.Integer(),
        jwtTtlSeconds: Type.Integer(),
        childTtlLimitSeconds: Type.Integer(),
        childCountLimit: Type.Integer(),
        treeLength: Type.Integer(),
        denyRotate: Type.Boolean(),
        denyInheritance: Type.Boolean(),
        reusePolicy: StringEnum(['revoke', 'flag'] as const),
        rotationGraceSeconds: Type.Integer(),
      }),
    ),
    oidcFederation: Type.Optional(
      Type.Object({
        preset: Nullable(Type.String()),
        issuer: Nullable(Type.String()),
        audiences: Type.Array(Type.String()),
        algorithms: Type.Array(Type.String()),
        maxTokenAgeSeconds: Type.Integer(),
        boundClaims: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
        identityTemplate: Nullable(Type.String()),
        createIdentities: Type.Boolean(),
        oneTimeTokens: Type.Boolean(),
        pinnedJwks: Type.Boolean({ description: 'A pinned JWK set replaces discovery.' }),
        trustDomain: Nullable(Type.String()),
        bundleEndpoint: Nullable(Type.String()),
        jwtTtlSeconds: Type.Integer(),
      }),
    ),
    certificate: Type.Optional(
      Type.Object({
        internalCa: Type.Boolean({ description: 'Trusts Tessera’s internal CA (no bundle given).' }),
        caCertificates: Nullable(Type.String()),
        boundNames: Type.Array(Type.String()),
        jwtTtlSeconds: Type.Integer(),
      }),
    ),
  },
  { $id: 'AuthMethod' },
);

export const CreatedAuthMethod = Type.Object({
  authMethod: Type.Ref('AuthMethod'),
  accessKey: Type.Optional(Type.String({ description: 'Shown once, for access_key methods.' })),
});

export const AuthMethodPage = Type.Object({
  items: Type.Array(Type.Ref('AuthMethod')),
  nextCursor: Nullable(Type.String()),
});
export const AuthMethodIdParams = Type.Object({ id: AccessId });
export const ByNameQuery = Type.Object({ name: Name }, { additionalProperties: false });
export const ListAuthMethodsQuery = Type.Object(
  {
    type: Type.Optional(
      StringEnum([
        'access_key',
        'universal_identity',
        'oauth_client',
        'oidc_federation',
        'certificate',
      ] as const),
    ),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export function authMethodToWire(m: AuthMethod): Static<typeof AuthMethodSchema> {
  return {
    id: m.id,
    name: m.name,
    type: m.type,
    identityId: m.identityId,
    boundCidrs: m.boundCidrs,
    expiresAt: toIsoOrNull(m.expiresAtMs),
    createdAt: toIso(m.createdAtMs),
    updatedAt: toIso(m.updatedAtMs),
    ...(isUidMethod(m)
      ? { universalIdentity: { ...m.settings, childCountLimit: uidChildCountLimit(m.settings) } }
      : {}),
    ...(isOidcFederation(m)
      ? {
          oidcFederation: {
            preset: m.settings.preset,
            issuer: m.settings.issuer,
            audiences: m.settings.audiences,
            algorithms: m.settings.algorithms,
            maxTokenAgeSeconds: m.settings.maxTokenAgeSeconds,
            boundClaims: m.settings.boundClaims,
            identityTemplate: m.settings.identityTemplate,
            createIdentities: m.settings.createIdentities,
            oneTimeTokens: m.settings.oneTimeTokens === true,
            pinnedJwks: m.settings.jwks !== null,
            trustDomain: m.settings.trustDomain ?? null,
            bundleEndpoint: m.settings.bundleEndpoint ?? null,
            jwtTtlSeconds: m.settings.jwtTtlSeconds,
          },
        }
      : {}),
    ...(isCertificateMethod(m)
      ? {
          certificate: {
            internalCa: m.settings.caCertificates === null,
            caCertificates: m.settings.caCertificates,
            boundNames: m.settings.boundNames,
            jwtTtlSeconds: m.settings.jwtTtlSeconds,
          },
        }
      : {}),
  };
}

/** Splits a create/update body into the common fields and the type-specific settings. */
export function splitSettings(body: Record<string, unknown>) {
  const { type: _t, name: _n, identityId: _i, owner: _o, boundCidrs, expiresAt, ...settings } = body;
  return {
    boundCidrs: boundCidrs as string[] | undefined,
    expiresAtMs:
      expiresAt === undefined ? undefined : expiresAt === null ? null : Date.parse(expiresAt as string),
    settings,
  };
}

import { Type } from '@sinclair/typebox';
import { MAX_SECRET_NAME_LENGTH, SECRET_NAME_PATTERN } from '../secrets/secrets.names.js';
import { toIso, toIsoOrNull } from '../shared/schemas.js';
import { type DynamicSecret, LEASE_STATES, type Lease } from './dynamic.model.js';

const Name = Type.String({ minLength: 1, maxLength: MAX_SECRET_NAME_LENGTH, pattern: SECRET_NAME_PATTERN });
const Ttl = Type.Integer({ minimum: 1, maximum: 31 * 86_400, description: 'Seconds.' });
const Statement = Type.String({ minLength: 1, maxLength: 4096 });
const LeaseId = Type.String({
  minLength: 3,
  maxLength: 64,
  pattern: '^[A-Za-z0-9-]+$',
  description: 'A lease id, `l-…`.',
});

export const ProducerSettingsBody = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    adminUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    adminPassword: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Sealed at rest; never returned.' }),
    ),
    creationStatements: Type.Optional(Type.Array(Statement, { maxItems: 50 })),
    revocationStatements: Type.Optional(Type.Array(Statement, { maxItems: 50 })),
    usernameTemplate: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    usernamePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    reassignOwnedTo: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    tls: Type.Optional(Type.Boolean()),
    options: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 64 }),
        Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]),
      ),
    ),
  },
  { additionalProperties: false },
);

export const CreateDynamicSecretBody = Type.Object(
  {
    name: Name,
    type: Type.String({ minLength: 1, maxLength: 32, description: '`postgresql`, `mysql`, `redis`.' }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    settings: ProducerSettingsBody,
    defaultTtlSeconds: Type.Optional(Ttl),
    maxTtlSeconds: Type.Optional(Ttl),
    leaseQuota: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    sweepDrop: Type.Optional(Type.Boolean()),
    check: Type.Optional(Type.Boolean({ description: 'Connect to the target first (default true).' })),
  },
  { additionalProperties: false },
);

export const DynamicSecretWire = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'Without the admin password.' }),
  defaultTtlSeconds: Type.Integer(),
  maxTtlSeconds: Type.Integer(),
  leaseQuota: Type.Integer(),
  sweepDrop: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const LeaseWire = Type.Object({
  leaseId: Type.String(),
  name: Type.String(),
  identityId: Type.String(),
  username: Type.String(),
  state: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  maxExpiresAt: Type.String(),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
  /** The credential the lease was obtained through (null: not recorded); revoking it revokes the lease. */
  authMethodId: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
  uidNodeId: Type.Union([Type.String({ maxLength: 64 }), Type.Null()]),
});

export const CredentialWire = Type.Object({
  leaseId: Type.String(),
  name: Type.String(),
  username: Type.String(),
  password: Type.String(),
  ttlSeconds: Type.Integer(),
  expiresAt: Type.String(),
  maxExpiresAt: Type.String(),
});

export const NameQuery = Type.Object({ name: Name }, { additionalProperties: false });
export const DeleteQuery = Type.Object(
  { name: Name, revokeLeases: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const ListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH })),
  },
  { additionalProperties: false },
);
export const CredentialsBody = Type.Object(
  { name: Name, ttlSeconds: Type.Optional(Ttl) },
  { additionalProperties: false },
);
export const SweepBody = Type.Object(
  { name: Name, drop: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const RenewBody = Type.Object(
  { leaseId: LeaseId, incrementSeconds: Type.Optional(Ttl) },
  { additionalProperties: false },
);
export const RevokeBody = Type.Object({ leaseId: LeaseId }, { additionalProperties: false });
export const RevokeManyBody = Type.Object(
  {
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SECRET_NAME_LENGTH })),
    identityId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export const LeasesQuery = Type.Object(
  {
    name: Type.Optional(Name),
    identityId: Type.Optional(Type.String({ maxLength: 64 })),
    state: Type.Optional(Type.Union(LEASE_STATES.map((s) => Type.Literal(s)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const dynamicSecretToWire = (d: DynamicSecret) => ({
  id: d.id,
  name: d.name,
  type: d.type,
  description: d.description,
  settings: d.publicSettings,
  defaultTtlSeconds: d.defaultTtlSeconds,
  maxTtlSeconds: d.maxTtlSeconds,
  leaseQuota: d.leaseQuota,
  sweepDrop: d.sweepDrop,
  createdAt: toIso(d.createdAtMs),
  updatedAt: toIso(d.updatedAtMs),
});

export const leaseToWire = (l: Lease) => ({
  leaseId: l.id,
  name: l.itemName,
  identityId: l.identityId,
  username: l.username,
  state: l.state,
  createdAt: toIso(l.createdAtMs),
  expiresAt: toIso(l.expiresAtMs),
  maxExpiresAt: toIso(l.maxExpiresAtMs),
  attempts: l.attempts,
  lastError: l.lastError,
  revokedAt: toIsoOrNull(l.revokedAtMs),
  authMethodId: l.authMethodId ?? null,
  uidNodeId: l.uidNodeId ?? null,
});

import { Type } from '@sinclair/typebox';
import { MAX_SECRET_NAME_LENGTH, SECRET_NAME_PATTERN } from '../secrets/secrets.names.js';
import { IsoTime, Nullable, StringEnum, toIsoOrNull } from '../shared/schemas.js';
import type { RotatedSecretRecord } from './rotated-secrets.model.js';
import type { RotatedSecretValue } from './rotated-secrets.service.js';

const Name = Type.String({
  minLength: 1,
  maxLength: MAX_SECRET_NAME_LENGTH,
  pattern: SECRET_NAME_PATTERN,
  description: 'Item name, e.g. `/prod/orders-db` (rotated secrets share the item namespace).',
});
const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' });
const Statement = Type.String({ maxLength: 4096 });

export const CreateRotatedSecretBody = Type.Object(
  {
    name: Name,
    type: StringEnum(['mysql', 'redis', 'postgresql'] as const, 'The target kind (its producer).'),
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    database: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    adminUsername: Type.String({
      maxLength: 128,
      description: 'The target’s administrator (Redis: `default`).',
    }),
    adminPassword: Type.String({ maxLength: 1024, description: 'Sealed at rest, never returned or logged.' }),
    tls: Type.Optional(Type.Boolean()),
    creationStatements: Type.Optional(
      Type.Array(Statement, {
        maxItems: 50,
        description:
          'Grants of the accounts, should Tessera have to create them (templates `{{name}}`, `{{password}}`).',
      }),
    ),
    strategy: Type.Optional(StringEnum(['two-account', 'single-account'] as const, 'Default `two-account`.')),
    usernames: Type.Array(Username, {
      minItems: 1,
      maxItems: 2,
      description: 'Two accounts with the same grants (two-account), or one (single-account).',
    }),
    intervalSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 60, maximum: 31_622_400 }))),
    graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800 })),
  },
  { additionalProperties: false },
);

export const RotatedSecretNameQuery = Type.Object({ name: Name }, { additionalProperties: false });

export const ListRotatedSecretsQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH })),
  },
  { additionalProperties: false },
);

export const UpdateRotatedSecretBody = Type.Object(
  {
    name: Name,
    intervalSeconds: Type.Optional(
      Nullable(Type.Integer({ minimum: 60, maximum: 31_622_400, description: 'null: on demand only.' })),
    ),
    graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800 })),
    adminUsername: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    adminPassword: Type.Optional(
      Type.String({ maxLength: 1024, description: 'Checked against the target, sealed, never returned.' }),
    ),
  },
  { additionalProperties: false },
);
export const RotatedSecretNameBody = Type.Object({ name: Name }, { additionalProperties: false });

export const RotatedSecretSchema = Type.Object(
  {
    id: Type.String({ maxLength: 64 }),
    name: Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }),
    type: Type.String({ maxLength: 32 }),
    strategy: Type.String({ maxLength: 32 }),
    usernames: Type.Array(Type.String({ maxLength: 64 })),
    currentUsername: Type.String({ maxLength: 64 }),
    version: Type.Integer(),
    intervalSeconds: Nullable(Type.Integer()),
    graceSeconds: Type.Integer(),
    rotatedAt: Nullable(IsoTime),
    nextRotationAt: Nullable(IsoTime),
    retireAt: Nullable(IsoTime),
    failures: Type.Integer(),
    lastError: Nullable(Type.String({ maxLength: 300 })),
    lastFailureAt: Nullable(IsoTime),
    nextAttemptAt: Nullable(IsoTime),
    createdAt: IsoTime,
  },
  {
    $id: 'RotatedSecret',
    description: 'A rotated secret’s state (never a password or the admin credential).',
  },
);

export const RotatedSecretValueResponse = Type.Object({
  name: Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }),
  username: Type.String({ maxLength: 64 }),
  password: Type.String({ maxLength: 1024 }),
  version: Type.Integer(),
  rotatedAt: Nullable(IsoTime),
  nextRotationAt: Nullable(IsoTime),
});

/** An allow-list of the row: never `sealed`, keys or claims. */
export function rotatedSecretToWire(r: RotatedSecretRecord) {
  return {
    id: r.id,
    name: r.name,
    type: r.producerType,
    strategy: r.strategy,
    usernames: r.usernames,
    currentUsername: r.usernames[r.currentIndex]!,
    version: r.version,
    intervalSeconds: r.intervalSeconds,
    graceSeconds: r.graceSeconds,
    rotatedAt: toIsoOrNull(r.rotatedAtMs),
    nextRotationAt: toIsoOrNull(r.nextRotationAtMs),
    retireAt: toIsoOrNull(r.retireAtMs),
    failures: r.failures,
    lastError: r.lastError,
    lastFailureAt: toIsoOrNull(r.lastFailureAtMs),
    nextAttemptAt: toIsoOrNull(r.nextAttemptAtMs),
    createdAt: new Date(r.createdAtMs).toISOString(),
  };
}

export function rotatedValueToWire(v: RotatedSecretValue) {
  return {
    name: v.name,
    username: v.username,
    password: v.password,
    version: v.version,
    rotatedAt: toIsoOrNull(v.rotatedAtMs),
    nextRotationAt: toIsoOrNull(v.nextRotationAtMs),
  };
}

import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Limit, Nullable, StringEnum, toIso, toIsoOrNull } from '../shared/schemas.js';
import type { KekRotation } from './secrets.keys.js';
import {
  DEFAULT_MAX_VERSIONS,
  DEFAULT_RECOVERY_DAYS,
  type KekStatus,
  MAX_MAX_VERSIONS,
  MAX_NAMES_PER_READ,
  MAX_RECOVERY_DAYS,
  MAX_SECRET_VALUE_BYTES,
  SECRET_FORMATS,
  type SecretDeletion,
  type SecretDescription,
  type SecretMetadata,
  type SecretValue,
} from './secrets.model.js';
import { MAX_SECRET_NAME_LENGTH, SECRET_NAME_PATTERN } from './secrets.names.js';

/**
 * Request bodies that carry a value may be larger than the server's default 64 KiB: a 64 KiB value
 * plus its JSON escaping. Declared on the route (`bodyLimit`) and in the OpenAPI document
 * (`x-body-limit`).
 */
export const SECRET_BODY_LIMIT = 192 * 1024;

const SecretName = Type.String({
  minLength: 1,
  maxLength: MAX_SECRET_NAME_LENGTH,
  pattern: SECRET_NAME_PATTERN,
  description:
    'Item name, e.g. `/demo/database-config` (a leading `/` is added when missing): letters, digits and `. _ - / @ + = :`; no empty, `.` or `..` segments, no trailing `/`; at most 512 characters and 32 segments.',
});
const Folder = Type.String({
  maxLength: MAX_SECRET_NAME_LENGTH,
  pattern: '^[A-Za-z0-9._\\-/@+=:]*$',
  description: 'A folder: `/demo` lists the items below `/demo/`; `/` (default) lists everything.',
});
const Format = StringEnum(SECRET_FORMATS, '`text` (default) or `json` (the value must parse as JSON)');
const Value = Type.String({
  maxLength: MAX_SECRET_VALUE_BYTES,
  description: `The secret value; at most ${MAX_SECRET_VALUE_BYTES} bytes of UTF-8 (413 \`TESSERA_SECRET_TOO_LARGE\` beyond).`,
});
const Tag = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:=/@+\\-]+$' });
const Version = (description: string) => Type.Integer({ minimum: 1, maximum: 2_147_483_647, description });
const Cursor = Type.String({
  minLength: 1,
  maxLength: MAX_SECRET_NAME_LENGTH,
  pattern: SECRET_NAME_PATTERN,
  description: 'The `nextCursor` of the previous page.',
});

/** Who must approve reads of an approval-required item (issue 14). */
export const SecretApprovalSchema = Type.Object(
  {
    group: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'An IdP group whose members decide; without it, the owner of the reading identity decides.',
      }),
    ),
    required: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10,
        description: 'Distinct approvals needed (N of M); default 1.',
      }),
    ),
  },
  { additionalProperties: false },
);

const itemFields = {
  id: Type.String({ maxLength: 64 }),
  name: Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }),
  format: Format,
  description: Nullable(Type.String({ maxLength: 1000 })),
  tags: Type.Array(Type.String({ maxLength: 100 })),
  maxVersions: Type.Integer(),
  latestVersion: Type.Integer(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  deletedAt: Nullable(IsoTime),
  purgeAfter: Nullable(IsoTime),
  approval: Type.Optional(
    Type.Union([SecretApprovalSchema, Type.Null()], {
      description:
        'Set: every read needs an approved, single-use grant for exactly that item, version and reader (403 `TESSERA_APPROVAL_REQUIRED` without). Null or absent: no approval.',
    }),
  ),
  type: StringEnum(
    ['static', 'dynamic', 'rotated'] as const,
    'The kind of item. Dynamic and rotated items have no versions (0) or format of their own; their routes are /v1/dynamic-secrets and /v1/rotated-secrets.',
  ),
};

export const SecretItemSchema = Type.Object(itemFields, {
  $id: 'SecretItem',
  description: 'A static secret’s metadata (never its value).',
});

export const SecretDescriptionSchema = Type.Object(
  {
    ...itemFields,
    versions: Type.Array(
      Type.Object({ version: Type.Integer(), sizeBytes: Type.Integer(), createdAt: IsoTime }),
      { description: 'The versions held, oldest first.' },
    ),
  },
  { $id: 'SecretDescription' },
);

const SecretValueSchema = Type.Object({
  name: Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }),
  version: Type.Integer(),
  format: Format,
  value: Type.String(),
  createdAt: IsoTime,
});
export const SecretValueResponse = SecretValueSchema;
export const SecretValuesResponse = Type.Object({ items: Type.Array(SecretValueSchema) });

export const CreateSecretBody = Type.Object(
  {
    name: SecretName,
    value: Value,
    format: Type.Optional(Format),
    description: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
    maxVersions: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_MAX_VERSIONS,
        description: `Versions kept (older ones are destroyed); default ${DEFAULT_MAX_VERSIONS}.`,
      }),
    ),
    approval: Type.Optional(Nullable(SecretApprovalSchema)),
  },
  { additionalProperties: false },
);

export const SetSecretApprovalBody = Type.Object(
  { name: SecretName, approval: Nullable(SecretApprovalSchema) },
  { additionalProperties: false },
);

export const UpdateSecretBody = Type.Object(
  {
    name: SecretName,
    value: Value,
    expectedVersion: Type.Optional(Version('Refuse (409) unless this is still the latest version.')),
  },
  { additionalProperties: false },
);

export const SecretNameQuery = Type.Object({ name: SecretName }, { additionalProperties: false });

export const GetSecretValueQuery = Type.Object(
  { name: SecretName, version: Type.Optional(Version('Default: the latest.')) },
  { additionalProperties: false },
);

export const GetSecretValuesBody = Type.Object(
  { names: Type.Array(SecretName, { minItems: 1, maxItems: MAX_NAMES_PER_READ }) },
  { additionalProperties: false },
);

export const SecretNameBody = Type.Object({ name: SecretName }, { additionalProperties: false });

export const ListSecretsQuery = Type.Object(
  {
    prefix: Type.Optional(Folder),
    recursive: Type.Optional(
      Type.Boolean({ description: 'Items in sub-folders too (default true); false: only the folder’s own.' }),
    ),
    includeDeleted: Type.Optional(
      Type.Boolean({ description: 'Include deleted items that can still be restored.' }),
    ),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const SecretPage = Type.Object({
  items: Type.Array(Type.Ref('SecretItem')),
  folders: Type.Array(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }), {
    description: 'Immediate sub-folders of the listed folder (first page only).',
  }),
  nextCursor: Nullable(Type.String({ maxLength: MAX_SECRET_NAME_LENGTH })),
});

export const DeleteSecretQuery = Type.Object(
  {
    name: SecretName,
    immediately: Type.Optional(
      Type.Boolean({ description: 'Destroy the item and every version now, with no recovery window.' }),
    ),
    recoveryDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_RECOVERY_DAYS,
        description: `Days the item can be restored (default ${DEFAULT_RECOVERY_DAYS}).`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const SecretDeletionSchema = Type.Object({
  id: Type.String({ maxLength: 64 }),
  name: Type.String({ maxLength: MAX_SECRET_NAME_LENGTH }),
  deletedAt: IsoTime,
  purgeAfter: Nullable(IsoTime),
  purged: Type.Boolean(),
  versionsDestroyed: Type.Integer(),
});

export const KekRotationSchema = Type.Object({
  kekVersion: Type.Integer(),
  previousKekVersion: Nullable(Type.Integer()),
  pendingItems: Type.Integer({ description: 'Items whose data keys the background job re-wraps.' }),
});

export const KekStatusSchema = Type.Object({
  activeVersion: Nullable(Type.Integer()),
  versions: Type.Array(Type.Object({ version: Type.Integer(), createdAt: IsoTime, items: Type.Integer() })),
});

export function secretToWire(m: SecretMetadata): Static<typeof SecretItemSchema> {
  return {
    id: m.id,
    name: m.name,
    format: m.format,
    description: m.description,
    tags: m.tags,
    maxVersions: m.maxVersions,
    latestVersion: m.latestVersion,
    createdAt: toIso(m.createdAtMs),
    updatedAt: toIso(m.updatedAtMs),
    deletedAt: toIsoOrNull(m.deletedAtMs),
    purgeAfter: toIsoOrNull(m.purgeAfterMs),
    approval: m.approval ?? null,
    type: m.type ?? 'static',
  };
}

export const secretDescriptionToWire = (d: SecretDescription) => ({
  ...secretToWire(d),
  versions: d.versions.map((v) => ({
    version: v.version,
    sizeBytes: v.sizeBytes,
    createdAt: toIso(v.createdAtMs),
  })),
});

export const secretValueToWire = (v: SecretValue): Static<typeof SecretValueSchema> => ({
  name: v.name,
  version: v.version,
  format: v.format,
  value: v.value,
  createdAt: toIso(v.createdAtMs),
});

export const secretDeletionToWire = (d: SecretDeletion): Static<typeof SecretDeletionSchema> => ({
  id: d.id,
  name: d.name,
  deletedAt: toIso(d.deletedAtMs),
  purgeAfter: toIsoOrNull(d.purgeAfterMs),
  purged: d.purged,
  versionsDestroyed: d.versionsDestroyed,
});

export const kekRotationToWire = (r: KekRotation): Static<typeof KekRotationSchema> => ({ ...r });

export const kekStatusToWire = (s: KekStatus): Static<typeof KekStatusSchema> => ({
  activeVersion: s.activeVersion,
  versions: s.versions.map((v) => ({ version: v.version, createdAt: toIso(v.createdAtMs), items: v.items })),
});

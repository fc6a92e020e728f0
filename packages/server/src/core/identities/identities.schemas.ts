import { type Static, Type } from '@sinclair/typebox';
import { Cursor, IsoTime, Limit, Name, Nullable, StringEnum, toIso, toIsoOrNull } from '../shared/schemas.js';
import { IDENTITY_KINDS, type Identity } from './identities.model.js';

const Kind = StringEnum(IDENTITY_KINDS);
const State = StringEnum(['active', 'suspended', 'retired'] as const);
const Owner = Type.String({ minLength: 1, maxLength: 200 });
const Tag = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:=/\\-]+$' });
const Tags = Type.Array(Tag, { maxItems: 50 });
const Text = (max: number) => Type.String({ maxLength: max });

export const IdentitySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    kind: Kind,
    owner: Type.String(),
    environment: Nullable(Type.String()),
    description: Nullable(Type.String()),
    tags: Type.Array(Type.String()),
    state: State,
    createdAt: IsoTime,
    updatedAt: IsoTime,
    lastUsedAt: Nullable(IsoTime),
    retiredAt: Nullable(IsoTime),
  },
  { $id: 'Identity' },
);

export const CreateIdentityBody = Type.Object(
  {
    name: Name,
    kind: Kind,
    owner: Owner,
    environment: Type.Optional(Nullable(Text(100))),
    description: Type.Optional(Nullable(Text(1000))),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);

export const UpdateIdentityBody = Type.Object(
  {
    owner: Type.Optional(Owner),
    environment: Type.Optional(Nullable(Text(100))),
    description: Type.Optional(Nullable(Text(1000))),
    tags: Type.Optional(Tags),
    state: Type.Optional(StringEnum(['active', 'suspended'] as const)),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ListIdentitiesQuery = Type.Object(
  {
    kind: Type.Optional(Kind),
    owner: Type.Optional(Owner),
    tag: Type.Optional(Tag),
    state: Type.Optional(State),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const IdentityIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const IdentityPage = Type.Object({
  items: Type.Array(Type.Ref('Identity')),
  nextCursor: Nullable(Type.String()),
});

export function identityToWire(i: Identity): Static<typeof IdentitySchema> {
  return {
    id: i.id,
    name: i.name,
    kind: i.kind,
    owner: i.owner,
    environment: i.environment,
    description: i.description,
    tags: i.tags,
    state: i.state,
    createdAt: toIso(i.createdAtMs),
    updatedAt: toIso(i.updatedAtMs),
    lastUsedAt: toIsoOrNull(i.lastUsedAtMs),
    retiredAt: toIsoOrNull(i.retiredAtMs),
  };
}

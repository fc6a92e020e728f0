import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  AccessId,
  IsoTime,
  Name,
  Nullable,
  StringEnum,
  Token,
  toIso,
  toIsoOrNull,
} from '../shared/schemas.js';
import type { UidNode, UidTreeNode } from './uid.model.js';
import type { UidTreeView } from './uid.service.js';

const TtlSeconds = Type.Integer({ minimum: 60, maximum: 365 * 86_400, description: 'Seconds.' });
const NodeId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9]+$' });
const Comment = Type.String({ maxLength: 500 });
const MethodRef = {
  authMethodId: Type.Optional(AccessId),
  authMethodName: Type.Optional(Name),
};

export const GenerateBody = Type.Object(
  {
    ...MethodRef,
    ttlSeconds: Type.Optional(TtlSeconds),
    denyRotate: Type.Optional(Type.Boolean()),
    denyInheritance: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const RotateBody = Type.Object(
  { manualAck: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const AckBody = Type.Object({ newToken: Token }, { additionalProperties: false });

export const ChildBody = Type.Object(
  {
    ...MethodRef,
    parentTokenId: Type.Optional(NodeId),
    ttlSeconds: Type.Optional(TtlSeconds),
    denyRotate: Type.Optional(Type.Boolean()),
    denyInheritance: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const RevokeBody = Type.Object(
  {
    ...MethodRef,
    token: Type.Optional(Token),
    tokenId: Type.Optional(NodeId),
    type: Type.Union([Type.Literal('self'), Type.Literal('all')]),
  },
  { additionalProperties: false },
);

export const TreeQuery = Type.Object(
  { ...MethodRef, tokenId: Type.Optional(NodeId) },
  { additionalProperties: false },
);

export const IssuedSchema = Type.Object({
  token: Type.String({ description: 'The u- token. Shown once; store it like a password.' }),
  tokenId: Type.String(),
  authMethodId: Type.String(),
  parentId: Nullable(Type.String()),
  depth: Type.Integer(),
  ttlSeconds: Type.Integer(),
  expiresAt: IsoTime,
});
export const RotatedSchema = Type.Composite([IssuedSchema, Type.Object({ pendingAck: Type.Boolean() })]);
export const AckedSchema = Type.Object({ tokenId: Type.String(), acknowledged: Type.Literal(true) });
export const RevokedSchema = Type.Object({
  tokenId: Type.String(),
  type: StringEnum(['self', 'all'] as const),
  revokedCount: Type.Integer(),
});

const NodeFields = {
  id: Type.String(),
  parentId: Nullable(Type.String()),
  depth: Type.Integer(),
  ttlSeconds: Type.Integer(),
  expiresAt: IsoTime,
  createdAt: IsoTime,
  lastRotatedAt: Nullable(IsoTime),
  denyRotate: Type.Boolean(),
  denyInheritance: Type.Boolean(),
  revoked: Type.Boolean(),
  revokedAt: Nullable(IsoTime),
  flagged: Type.Boolean(),
  comment: Nullable(Type.String()),
  createdBy: Nullable(
    Type.Object(
      {
        kind: StringEnum(['holder', 'session', 'admin'] as const),
        nodeId: Type.Optional(Type.String({ description: 'holder, session: the creating node' })),
        generation: Type.Optional(
          Type.Integer({ description: "holder: the generation of the parent's token that was used" }),
        ),
        credentialRef: Type.Optional(
          Nullable(Type.String({ description: 'holder: the audit hash of that token (never the token)' })),
        ),
        sessionId: Type.Optional(Nullable(Type.String({ description: 'session, admin: the session (jti)' }))),
        identityId: Type.Optional(Nullable(Type.String())),
        authMethodId: Type.Optional(Nullable(Type.String())),
      },
      {
        description:
          'The credential that created the token (null for tokens created before this was recorded).',
      },
    ),
  ),
};
export const UidNodeSchema = Type.Recursive(
  (This) => Type.Object({ ...NodeFields, children: Type.Array(This) }),
  { $id: 'UidNode' },
) as unknown as TSchema;

export const TreeSchema = Type.Object({
  authMethodId: Type.String(),
  maxDepth: Type.Integer(),
  numberOfTokens: Type.Integer(),
  truncated: Type.Boolean(),
  roots: Type.Array(Type.Ref('UidNode')),
});

export function issuedToWire(token: string, node: UidNode): Static<typeof IssuedSchema> {
  return {
    token,
    tokenId: node.id,
    authMethodId: node.methodId,
    parentId: node.parentId,
    depth: node.depth,
    ttlSeconds: node.ttlSeconds,
    expiresAt: toIso(node.expiresAtMs),
  };
}

interface WireNode {
  [key: string]: unknown;
  children: WireNode[];
}

function nodeToWire(n: UidTreeNode): WireNode {
  return {
    id: n.id,
    parentId: n.parentId,
    depth: n.depth,
    ttlSeconds: n.ttlSeconds,
    expiresAt: toIso(n.expiresAtMs),
    createdAt: toIso(n.createdAtMs),
    lastRotatedAt: toIsoOrNull(n.lastRotatedAtMs),
    denyRotate: n.denyRotate,
    denyInheritance: n.denyInheritance,
    revoked: n.revokedAtMs !== null,
    revokedAt: toIsoOrNull(n.revokedAtMs),
    flagged: n.flaggedAtMs !== null,
    comment: n.comment,
    createdBy: n.createdBy,
    children: n.children.map(nodeToWire),
  };
}

export function treeToWire(view: UidTreeView) {
  return { ...view, roots: view.roots.map(nodeToWire) };
}

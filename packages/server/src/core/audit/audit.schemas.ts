import { type Static, Type } from '@sinclair/typebox';
import { IsoTime, Nullable, StringEnum, toIso } from '../shared/schemas.js';
import type { AuditOutcome, StoredAuditEvent } from './audit.model.js';

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const satisfies readonly AuditOutcome[];

/** Most events a page returns. */
export const AUDIT_PAGE_MAX = 500;
export const AUDIT_PAGE_DEFAULT = 100;

const Outcome = StringEnum(AUDIT_OUTCOMES);
const Id = Type.String({ minLength: 1, maxLength: 64 });
const NullableText = Nullable(Type.String());

export const AuditActorSchema = Type.Object(
  {
    identityId: NullableText,
    authMethodId: NullableText,
    uidNodeId: NullableText,
    tokenId: Nullable(Type.String({ description: 'Session token id (jti), when one was used' })),
    credentialRef: Nullable(
      Type.String({ description: 'Hash prefix of the presented credential: correlates, cannot be replayed' }),
    ),
  },
  { description: 'Who acted. Missing parts are null.' },
);

export const AuditEventSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'Position in the ledger (1, 2, …); page on with `afterSeq`' }),
    id: Type.String(),
    at: IsoTime,
    type: Type.String({ description: 'e.g. auth.failed, uid.token.rotated, identity.created' }),
    outcome: Outcome,
    actor: AuditActorSchema,
    resource: NullableText,
    reason: Nullable(
      Type.String({ description: 'The precise internal reason (never sent in error answers)' }),
    ),
    requestId: NullableText,
    sourceIp: NullableText,
    data: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Type-specific fields (`v` is the event version); never secret values',
    }),
  },
  { $id: 'AuditEvent' },
);

export type AuditEventWire = Static<typeof AuditEventSchema>;

export const ListAuditEventsQuery = Type.Object(
  {
    identityId: Type.Optional(Id),
    authMethodId: Type.Optional(Id),
    type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        pattern: '^[A-Za-z0-9_.,*\\-]+$',
        description:
          'An event type, or a prefix ending in `*` (`uid.token.*`); up to 10, comma-separated, match any',
      }),
    ),
    outcome: Type.Optional(Outcome),
    resourcePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    party: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 330,
        pattern: '^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+){0,4}$',
        description:
          'Up to 5 ids (identity `i-…`, auth method or OAuth client `p-…`), comma-separated: events where each one acted or is a party of a delegation (token exchange); all must match',
      }),
    ),
    since: Type.Optional(IsoTime),
    until: Type.Optional(IsoTime),
    afterSeq: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Oldest first, after this sequence number (follow the ledger: pass the last seq seen)',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: '`nextCursor` of the previous (newest-first) page',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: AUDIT_PAGE_DEFAULT })),
  },
  { additionalProperties: false },
);

export type ListAuditEventsInput = Static<typeof ListAuditEventsQuery>;

export const AuditEventPage = Type.Object({
  items: Type.Array(Type.Ref('AuditEvent')),
  nextCursor: Nullable(
    Type.String({ description: 'Older events: pass as `cursor`. Null on the last page and with `afterSeq`' }),
  ),
});

export const AuditHashBody = Type.Object(
  { value: Type.String({ maxLength: 4096, description: 'The value to hash (sent over TLS; not stored)' }) },
  { additionalProperties: false },
);

export const AuditHashResponse = Type.Object({
  hash: Type.String({ description: '`hmac-sha256:<hex>`, keyed with the server’s audit HMAC key' }),
});

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The wire form of a stored event: an allow-list (no chain hashes, only known actor fields). */
export function auditEventToWire(e: StoredAuditEvent): AuditEventWire {
  return {
    seq: e.seq,
    id: e.id,
    at: toIso(e.atMs),
    type: e.type,
    outcome: e.outcome,
    actor: {
      identityId: text(e.actor.identityId),
      authMethodId: text(e.actor.authMethodId),
      uidNodeId: text(e.actor.uidNodeId),
      tokenId: text(e.actor.tokenId),
      credentialRef: text(e.actor.credentialRef),
    },
    resource: e.resource ?? null,
    reason: e.reason ?? null,
    requestId: e.requestId,
    sourceIp: e.sourceIp,
    data: e.data ?? {},
  };
}

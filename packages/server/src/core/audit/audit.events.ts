/**
 * The catalogue of audit event types (version 1 of their `data`): what each records and which actor
 * fields it must carry. Tests hold every emitted event to it; a new event type starts here.
 */
export interface EventTypeSpec {
  description: string;
  /** Actor fields that must be present (non-null). */
  actor: ReadonlyArray<'identityId' | 'authMethodId' | 'uidNodeId' | 'tokenId' | 'credentialRef'>;
  /** Fields of `data` that must be present. */
  data: readonly string[];
  outcomes: ReadonlyArray<'success' | 'failure' | 'denied'>;
  /** Whether `reason` must be set (the precise internal reason for a refusal). */
  reason: boolean;
}

const admin = ['identityId', 'authMethodId', 'tokenId'] as const;

export const AUDIT_EVENT_TYPES = {
  'auth.succeeded': {
    description: 'A credential was exchanged for a session token.',
    actor: ['identityId', 'authMethodId', 'tokenId', 'credentialRef'],
    data: ['accessType', 'expiresAt'],
    outcomes: ['success'],
    reason: false,
  },
  'auth.failed': {
    description: 'A credential presented for exchange was refused (the reason is only here).',
    actor: [],
    data: ['accessType'],
    outcomes: ['failure'],
    reason: true,
  },
  'auth.rate_limited': {
    description: 'An exchange was refused because its source failed too often.',
    actor: [],
    data: ['accessType'],
    outcomes: ['denied'],
    reason: true,
  },
  'access.denied': {
    description: 'A request was refused by policy; repeats within a minute are one event with `repeated`.',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType'],
    outcomes: ['denied'],
    reason: true,
  },
  'access.granted': {
    description: 'A read was allowed by policy (writes are recorded by the change they make).',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType', 'rule'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.created': {
    description: 'An identity was created.',
    actor: admin,
    data: ['identityId', 'kind', 'owner'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.updated': {
    description: 'An identity was changed.',
    actor: admin,
    data: ['identityId', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'identity.retired': {
    description: 'An identity was retired.',
    actor: admin,
    data: ['identityId'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.created': {
    description: 'An auth method was created.',
    actor: [],
    data: ['authMethodId', 'methodType', 'identityId'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.updated': {
    description: 'An auth method was changed.',
    actor: admin,
    data: ['authMethodId', 'changed'],
    outcomes: ['success'],
    reason: false,
  },
  'auth_method.deleted': {
    description: 'An auth method was deleted and its tokens revoked.',
    actor: admin,
    data: ['authMethodId', 'revokedUidNodes'],
    outcomes: ['success'],
    reason: false,
  },
  'uid.token.generated': {
    description: 'A root UID token was generated.',
    actor: admin,
    data: ['nodeId', 'ttlSeconds'],
    outcomes: ['success', 'denied', 'failure'],
    reason: false,
  },
  'uid.token.rotated': {
    description: 'A UID token was rotated, or a rotation was refused.',
    actor: ['uidNodeId', 'credentialRef'],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.rotation_acknowledged': {
    description: 'A manual-ack rotation was acknowledged.',
    actor: ['uidNodeId', 'credentialRef'],
    data: ['nodeId'],
    outcomes: ['success', 'failure'],
    reason: false,
  },
  'uid.token.child_created': {
    description: 'A child UID token was created, or refused.',
    actor: [],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.revoked': {
    description: 'A UID token (self) or subtree (all) was revoked.',
    actor: [],
    data: [],
    outcomes: ['success', 'failure', 'denied'],
    reason: false,
  },
  'uid.token.reuse_detected': {
    description: 'A rotated-away UID token was presented again: a theft signal.',
    actor: ['uidNodeId', 'credentialRef'],
    data: ['policy', 'revokedCount', 'nodeId'],
    outcomes: ['failure'],
    reason: true,
  },
  'uid.tree.listed': {
    description: 'A holder asked for its tree and was refused.',
    actor: [],
    data: [],
    outcomes: ['failure', 'denied'],
    reason: true,
  },
  'signing_key.rotated': {
    description: 'The session-token signing key was rotated (or created).',
    actor: [],
    data: ['kid', 'reason'],
    outcomes: ['success'],
    reason: false,
  },
} as const satisfies Record<string, EventTypeSpec>;

export type AuditEventType = keyof typeof AUDIT_EVENT_TYPES;

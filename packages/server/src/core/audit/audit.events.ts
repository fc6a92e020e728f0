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
  'access.explained': {
    description: 'An administrator asked how policy decides for another principal (never storing its token).',
    actor: ['identityId', 'authMethodId'],
    data: ['action', 'resourceType', 'allowed', 'subjectIdentityId', 'subjectAuthMethodId'],
    outcomes: ['success'],
    reason: false,
  },
  'role.created': {
    description: 'A role was created.',
    actor: admin,
    data: ['roleId', 'roleName'],
    outcomes: ['success'],
    reason: false,
  },
  'role.deleted': {
    description: 'A role was deleted with its rules and associations.',
    actor: admin,
    data: ['roleId', 'roleName', 'associations'],
    outcomes: ['success'],
    reason: false,
  },
  'role.rule_set': {
    description: 'A rule of a role was set (created, or its capabilities, expiry and conditions replaced).',
    actor: admin,
    data: ['roleName', 'ruleId', 'ruleType', 'path', 'capabilities', 'expiresAt', 'conditions', 'replaced'],
    outcomes: ['success'],
    reason: false,
  },
  'role.rule_deleted': {
    description: 'A rule of a role was deleted.',
    actor: admin,
    data: ['roleName', 'ruleId', 'ruleType', 'path'],
    outcomes: ['success'],
    reason: false,
  },
  'role.included': {
    description: 'A role now includes another role (its rules apply wherever the role does).',
    actor: admin,
    data: ['roleName', 'included'],
    outcomes: ['success'],
    reason: false,
  },
  'role.excluded': {
    description: 'A role no longer includes another role.',
    actor: admin,
    data: ['roleName', 'included'],
    outcomes: ['success'],
    reason: false,
  },
  'role.associated': {
    description: 'A role was associated with an auth method, optionally narrowed by claims.',
    actor: [],
    data: ['roleName', 'associationId', 'authMethodId', 'claims'],
    outcomes: ['success'],
    reason: false,
  },
  'role.association_deleted': {
    description: 'A role association was deleted.',
    actor: admin,
    data: ['roleName', 'associationId', 'authMethodId'],
    outcomes: ['success'],
    reason: false,
  },
  'signing_key.rotated': {
    description: 'The session-token signing key was rotated (or created).',
    actor: [],
    data: ['kid', 'reason'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.created': {
    description: 'A static secret was created with its first version (name and id; never the value).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version', 'format'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.read': {
    description: 'A secret value was read: which item and version (never the value).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.updated': {
    description: 'A new version of a secret was written; versions beyond its maxVersions were destroyed.',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'version', 'destroyedVersions'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.deleted': {
    description: 'A secret was deleted: restorable until purgeAfter, or destroyed at once (immediately).',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId', 'immediately', 'purgeAfter', 'versionsDestroyed'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.restored': {
    description: 'A deleted secret was restored within its recovery window.',
    actor: ['identityId', 'authMethodId'],
    data: ['secretId'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.purged': {
    description: 'A deleted secret whose recovery window ended was destroyed with its ciphertexts.',
    actor: [],
    data: ['secretId', 'versionsDestroyed', 'deletedAt'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.rotated': {
    description:
      'A new key-encryption key version now wraps new secret data keys (or the first was created).',
    actor: [],
    data: ['kekVersion', 'previousKekVersion', 'reason'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.rewrapped': {
    description: 'A batch of secret data keys was re-wrapped under the active key-encryption key.',
    actor: [],
    data: ['kekVersion', 'count'],
    outcomes: ['success'],
    reason: false,
  },
  'secret.kek.destroyed': {
    description: 'A key-encryption key version no secret used any more was destroyed.',
    actor: [],
    data: ['kekVersion', 'activeKekVersion'],
    outcomes: ['success'],
    reason: false,
  },
  'root_key.rotated': {
    description: 'The root key was replaced offline; the signing keys and KEKs were re-sealed under it.',
    actor: [],
    data: ['previousKeyId', 'keyId', 'signingKeys', 'keks'],
    outcomes: ['success'],
    reason: false,
  },
} as const satisfies Record<string, EventTypeSpec>;

export type AuditEventType = keyof typeof AUDIT_EVENT_TYPES;

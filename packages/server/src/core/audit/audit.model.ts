/** Who acted. Credential references are hashes, never the credential itself. */
export interface AuditActor {
  identityId?: string | null;
  authMethodId?: string | null;
  uidNodeId?: string | null;
  /** Session token id (jti) when the action was taken with a session token. */
  tokenId?: string | null;
  /** Reference to the presented credential: a hash prefix, enough to correlate, useless to replay. */
  credentialRef?: string | null;
}

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One audit event, version 1. `data` holds type-specific, non-secret fields. */
export interface AuditEvent {
  type: string;
  outcome: AuditOutcome;
  actor: AuditActor;
  resource?: string | null;
  /** The precise internal reason (e.g. why a credential was refused). */
  reason?: string | null;
  data?: Record<string, unknown>;
}

/**
 * The JSON of an appended event's `actor` and `data` exactly as the ledger stored and hashed it,
 * with the objects it was made from. The repository that appended the event attaches it under a
 * symbol key (never serialised), so a sink writing JSON lines reuses those bytes instead of
 * serialising the same objects again; it applies only while `actor` and `data` are those objects.
 */
export const ENCODED_PARTS: unique symbol = Symbol('tessera.audit.encodedParts');
export interface EncodedParts {
  actor: string;
  data: string;
  actorObject: AuditActor;
  dataObject: Record<string, unknown>;
}

export interface StoredAuditEvent extends AuditEvent {
  [ENCODED_PARTS]?: EncodedParts;
  seq: number;
  id: string;
  atMs: number;
  requestId: string | null;
  sourceIp: string | null;
  prevHash: string;
  hash: string;
}

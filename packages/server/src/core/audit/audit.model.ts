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

export interface StoredAuditEvent extends AuditEvent {
  seq: number;
  id: string;
  atMs: number;
  requestId: string | null;
  sourceIp: string | null;
  prevHash: string;
  hash: string;
}

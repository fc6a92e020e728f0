/**
 * A node of a Universal Identity token tree. The node is the identity of one holder; its
 * credential (the `u-` token) changes on every rotation while the node stays.
 */
export interface UidNode {
  id: string;
  methodId: string;
  identityId: string;
  parentId: string | null;
  /** Materialised path `/<root id>/…/<own id>/`: a subtree is one range of paths. */
  path: string;
  /** 1 for a root. */
  depth: number;
  ttlSeconds: number;
  expiresAtMs: number;
  denyRotate: boolean;
  denyInheritance: boolean;
  comment: string | null;
  createdAtMs: number;
  lastRotatedAtMs: number | null;
  /** Optimistic concurrency guard: bumped on every rotation. */
  rotationSeq: number;
  revokedAtMs: number | null;
  revokedReason: string | null;
  /** Set when reuse was detected under the `flag` policy. */
  flaggedAtMs: number | null;
  /** Who created the node (null for nodes created before this was recorded). */
  createdBy: UidCreator | null;
}

/**
 * The credential that created a node: the parent's `u-` token (its node, generation and audit
 * reference — never the token), a session from a UID node, or an administrator's session.
 */
export type UidCreator =
  | { kind: 'holder'; nodeId: string; generation: number; credentialRef: string | null }
  | { kind: 'session'; nodeId: string; sessionId: string | null }
  | { kind: 'admin'; identityId: string | null; authMethodId: string | null; sessionId: string | null };

/**
 * Credential states. A rotation creates a `pending` successor; its first use (or an explicit ack)
 * makes it `current` and the predecessor `superseded`. A pending successor replaced by a retried
 * rotation becomes `replaced`. Presenting a `superseded` or `replaced` credential is reuse.
 */
export type UidCredentialState = 'current' | 'pending' | 'superseded' | 'replaced';

export interface UidCredential {
  hash: string;
  nodeId: string;
  generation: number;
  state: UidCredentialState;
  manualAck: boolean;
  /** Until when the predecessor may still retry the rotation (auto mode). */
  graceUntilMs: number | null;
  createdAtMs: number;
  activatedAtMs: number | null;
  supersededAtMs: number | null;
}

/** One node with its children, for listing. */
export interface UidTreeNode extends UidNode {
  children: UidTreeNode[];
}

/** End of the path range of a subtree: every descendant path `p` has `path <= p < subtreeEnd(path)`. */
export const subtreeEnd = (path: string): string => `${path.slice(0, -1)}0`; // '0' sorts right after '/'

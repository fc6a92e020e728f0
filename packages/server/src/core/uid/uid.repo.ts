import type { IdentityState } from '../identities/identities.model.js';
import type { UidCredential, UidCredentialState, UidNode } from './uid.model.js';

/** Persistence of UID trees; implemented in storage/. Subtree operations are single statements. */
export interface UidRepo {
  insertNode(node: UidNode): Promise<void>;
  getNode(id: string): Promise<UidNode | null>;
  /** The children a node has ever had, and those still live (unrevoked, unexpired at `nowMs`). */
  countChildren(parentId: string, nowMs: number): Promise<{ ever: number; live: number }>;
  insertCredential(credential: UidCredential): Promise<void>;
  findCredential(hash: string): Promise<UidCredential | null>;
  /** The credential with this hash, its node and the node's pending successor, in one read. */
  findPresented(hash: string): Promise<{
    credential: UidCredential;
    node: UidNode;
    pending: UidCredential | null;
    /** The node's identity's lifecycle state, read in the same statement. */
    identityState: IdentityState | null;
  } | null>;
  findCredentialsOfNode(nodeId: string, state: UidCredentialState): Promise<UidCredential[]>;
  /** Moves a credential from one state to another; false when it was no longer in `from`. */
  transitionCredential(
    hash: string,
    from: UidCredentialState,
    to: UidCredentialState,
    atMs: number,
  ): Promise<boolean>;
  /** Records a rotation if nobody rotated since `expectedSeq`; false on a concurrent rotation. */
  recordRotation(nodeId: string, expectedSeq: number, expiresAtMs: number, atMs: number): Promise<boolean>;
  flagNode(nodeId: string, atMs: number): Promise<void>;
  /** Revokes one node and re-attaches its children to its parent (paths and depths rewritten). */
  revokeNodeAndReattach(node: UidNode, atMs: number, reason: string): Promise<number>;
  /** Revokes a node and its whole subtree in one statement; returns how many nodes changed. */
  revokeSubtree(methodId: string, path: string, atMs: number, reason: string): Promise<number>;
  /** Revokes every node of a method in one statement. */
  revokeMethod(methodId: string, atMs: number): Promise<number>;
  /** Nodes of a subtree (or of the whole method when `path` is null), ordered by path. */
  listNodes(methodId: string, path: string | null, limit: number): Promise<UidNode[]>;
  countNodes(methodId: string, path: string | null): Promise<number>;
  /** Live nodes within `percent` of their TTL from expiry and not rotated for half their TTL. */
  listNearExpiry(nowMs: number, percent: number, limit: number): Promise<UidNode[]>;
}

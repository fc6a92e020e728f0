import type { ProducerType } from './producer.port.js';

/**
 * Lease states (ADR 0010): creating → active → revoking → revoked; creating → failed when the
 * target refused; revoking → revoke_failed after the last attempt (visible, alerted, retried by hand).
 */
export type LeaseState = 'creating' | 'active' | 'revoking' | 'revoked' | 'failed' | 'revoke_failed';
export const LEASE_STATES: readonly LeaseState[] = [
  'creating',
  'active',
  'revoking',
  'revoked',
  'failed',
  'revoke_failed',
];
/** States in which an account may exist on the target (what quotas count and deletion refuses). */
export const LIVE_STATES: readonly LeaseState[] = ['creating', 'active', 'revoking', 'revoke_failed'];

/** A dynamic secret: an item whose value is minted per request by a producer. */
export interface DynamicSecret {
  id: string;
  name: string;
  type: ProducerType;
  description: string | null;
  /** The settings without the administrator's password: what may be shown. */
  publicSettings: Record<string, unknown>;
  /** The full settings (JSON), encrypted under the item's data key. */
  sealedSettings: string;
  wrappedKey: string;
  kekVersion: number;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  /** Live leases one identity may hold on this item at once. */
  leaseQuota: number;
  /** Whether the sweep drops the accounts it finds (otherwise it only reports them unless asked). */
  sweepDrop: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface Lease {
  id: string;
  itemId: string;
  itemName: string;
  identityId: string;
  username: string;
  state: LeaseState;
  createdAtMs: number;
  expiresAtMs: number;
  maxExpiresAtMs: number;
  /** When a `creating` or `revoking` lease may be (re)claimed by a reaper. */
  nextAttemptAtMs: number;
  attempts: number;
  lastError: string | null;
  revokedAtMs: number | null;
  /**
   * The credential the lease was obtained through (issue 10): revoking it (the UID token, its
   * subtree, the auth method) revokes the lease. Absent or null: not known (older leases, the system).
   */
  authMethodId?: string | null;
  uidNodeId?: string | null;
  /** The UID node's materialised path `/<root>/…/<id>/`, so a subtree's leases are found by segment. */
  uidNodePath?: string | null;
}

/** A revoked credential whose leases go with it (the session revocation kinds, issue 10). */
export type RevokedCredential =
  | { kind: 'node'; subject: string }
  | { kind: 'subtree'; subject: string }
  | { kind: 'method'; subject: string }
  | { kind: 'identity'; subject: string };

export interface LeaseFilter {
  itemName?: string;
  itemPrefix?: string;
  identityId?: string;
  state?: LeaseState;
  /** Exclusive lower bound on the id (the cursor). */
  afterId?: string | null;
}

/** Persistence of dynamic secrets and leases; implemented in storage/. */
export interface DynamicRepo {
  insertItem(item: DynamicSecret): Promise<void>;
  getItem(name: string): Promise<DynamicSecret | null>;
  getItemById(id: string): Promise<DynamicSecret | null>;
  listItems(prefix: string, afterName: string | null, limit: number): Promise<DynamicSecret[]>;
  deleteItem(id: string): Promise<void>;
  insertLease(lease: Lease): Promise<void>;
  getLease(id: string): Promise<Lease | null>;
  updateLease(
    id: string,
    patch: Partial<Omit<Lease, 'id' | 'itemId' | 'itemName' | 'identityId' | 'username'>>,
  ): Promise<void>;
  /** Marks many leases revoked at once (the reaper's batch). */
  markRevoked(ids: readonly string[], nowMs: number): Promise<void>;
  /** Leases of `identityId` on `itemId` in a live state. */
  countLive(identityId: string, itemId: string): Promise<number>;
  /** Leases of an item in a live state. */
  countLiveOfItem(itemId: string): Promise<number>;
  /**
   * Claims up to `limit` leases due for revocation (active and expired; revoking or creating whose
   * `nextAttemptAt` passed): each becomes `revoking` with `nextAttemptAt = claimUntilMs` and one more
   * attempt, atomically, so two servers never claim the same lease.
   */
  claimDue(nowMs: number, claimUntilMs: number, limit: number): Promise<Lease[]>;
  /** Claims one lease for an immediate revocation (any live state but `creating`); null if not live. */
  claimOne(id: string, claimUntilMs: number): Promise<Lease | null>;
  /** Makes matching active leases due now (expiry moved to `nowMs`); returns how many. */
  markDue(
    filter: { identityId?: string; itemPrefix?: string; itemId?: string },
    nowMs: number,
  ): Promise<number>;
  /** Makes the live leases obtained through a revoked credential due now; returns how many. */
  markCredentialDue(credential: RevokedCredential, nowMs: number): Promise<number>;
  /** Usernames of an item's leases in a live state (the sweep keeps these). */
  liveUsernames(itemId: string): Promise<Set<string>>;
  listLeases(filter: LeaseFilter, limit: number): Promise<Lease[]>;
  /** How many leases are in `revoke_failed` (a gauge for alerting). */
  countState(state: LeaseState): Promise<number>;
}

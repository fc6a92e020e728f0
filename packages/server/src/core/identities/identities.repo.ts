import type { Identity, IdentityFilter, IdentityState } from './identities.model.js';

/** Persistence of identities; implemented in storage/. */
export interface IdentityRepo {
  insert(identity: Identity): Promise<void>;
  get(id: string): Promise<Identity | null>;
  getByName(name: string): Promise<Identity | null>;
  /** Only the lifecycle state: the check every authentication makes. */
  getState(id: string): Promise<IdentityState | null>;
  /** Ordered by id; `afterId` is the exclusive lower bound of the page. */
  list(filter: IdentityFilter, limit: number, afterId: string | null): Promise<Identity[]>;
  update(identity: Identity): Promise<void>;
  /** Batch update of `lastUsedAt`, only ever moving it forward. */
  touchLastUsed(entries: ReadonlyArray<readonly [id: string, atMs: number]>): Promise<void>;
}

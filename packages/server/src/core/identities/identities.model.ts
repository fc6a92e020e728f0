export const IDENTITY_KINDS = [
  'service',
  'workload',
  'ci-pipeline',
  'ai-agent',
  'mcp-server',
  'device',
  'other',
] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export const IDENTITY_STATES = ['active', 'suspended', 'retired'] as const;
export type IdentityState = (typeof IDENTITY_STATES)[number];

/** One non-human identity: the unit of the inventory. */
export interface Identity {
  id: string;
  name: string;
  kind: IdentityKind;
  owner: string;
  environment: string | null;
  description: string | null;
  tags: string[];
  state: IdentityState;
  createdAtMs: number;
  updatedAtMs: number;
  retiredAtMs: number | null;
  lastUsedAtMs: number | null;
}

/** Owners meaning "nobody" (governance flags identities owned by one as NHI1 `no-owner`). */
export const NO_OWNER = new Set(['', 'unassigned', 'unknown', 'nobody', 'none']);

/** Whether `owner` names nobody. */
export const namesNoOwner = (owner: string) => NO_OWNER.has(owner.trim().toLowerCase());

export interface IdentityFilter {
  kind?: IdentityKind;
  owner?: string;
  tag?: string;
  state?: IdentityState;
}

declare module '../shared/events.js' {
  interface DomainEvents {
    /**
     * An identity was suspended or retired, inside the transaction that changed it: its session
     * tokens are revoked and (when retired) its leases made due in that same transaction.
     */
    'identity.deactivated': { identityId: string; state: 'suspended' | 'retired' };
  }
}

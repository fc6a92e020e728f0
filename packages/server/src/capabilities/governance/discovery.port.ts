/**
 * The discovery port (issue 16): a connector lists the accounts of one external system and can
 * act on one. PostgreSQL roles, MariaDB/MySQL users and Redis ACL users are served by one adapter
 * over the dynamic-secret producers; a cloud or SaaS connector implements the same interface.
 */
import type { RequestContext } from '../../core/shared/context.js';

/** An account found on a target. */
export interface DiscoveredAccount {
  name: string;
  /**
   * When the account's password was last set, where the system records it (MariaDB/MySQL
   * `password_last_changed`); null otherwise (PostgreSQL, Redis). Not a use of the account.
   */
  passwordChangedAtMs: number | null;
}

/** Where a connector looks: a target's connection (held sealed by Tessera) and a name scope. */
export interface DiscoveryTarget {
  /** The dynamic secret whose target settings the connector uses. */
  itemName: string;
  /** Only accounts whose name starts with this are considered (empty: all but system accounts). */
  prefix: string;
}

export interface DiscoveryConnector {
  /** `postgresql`, `mysql`, `redis`, … */
  readonly type: string;
  /** Accounts on the target within the prefix, system accounts excluded. */
  list(target: DiscoveryTarget): Promise<DiscoveredAccount[]>;
  /**
   * Adoption: puts the account under Tessera's rotation as the rotated secret `secretName` — a
   * password only Tessera knows is set at once, so the old one stops working.
   */
  adopt(target: DiscoveryTarget, account: string, secretName: string, ctx: RequestContext): Promise<void>;
  /** Drops the account and ends its sessions. */
  remove(target: DiscoveryTarget, account: string): Promise<void>;
  /** A label of the target for previews (`postgresql://host:port/db`), never a credential. */
  describe(target: DiscoveryTarget): Promise<string>;
}

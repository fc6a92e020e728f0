/**
 * The port every dynamic-secret producer implements (issue 6). A producer mints and removes
 * accounts on one kind of target (PostgreSQL, MariaDB/MySQL, Redis ACL users…). Implementations live
 * outside core (`packages/server/src/producers/<type>.producer.ts`) because they do network I/O; the
 * core (leases, reaper, sweep, rotation) only sees this interface, through a registry keyed by `type`.
 */

/** The kinds of target Tessera can mint accounts on. Extensible: add a type, register a producer. */
export type ProducerType = 'postgresql' | 'mysql' | 'redis';

/**
 * A producer's settings as stored (encrypted, never returned): how to reach the target as its
 * administrator, and what to run. Type-specific fields live in `options`.
 */
export interface ProducerSettings {
  host: string;
  port: number;
  /** PostgreSQL/MySQL database; Redis: unused. */
  database: string | null;
  /** The target's administrator: a secret like any other (encrypted at rest, never returned or logged). */
  adminUsername: string;
  adminPassword: string;
  /** Statements run to create an account; `{{name}}`, `{{password}}`, `{{expiration}}` are substituted (quoted safely per target). */
  creationStatements: string[];
  /** Statements run to revoke an account; empty means the producer's safe default (drop the account, end its sessions). */
  revocationStatements: string[];
  /** Template of generated usernames, e.g. `tsr_{{role}}_{{random}}`; every name it yields starts with `usernamePrefix`. */
  usernameTemplate: string;
  /** What the sweep recognises as Tessera's accounts on this target. */
  usernamePrefix: string;
  /** Owned objects on revocation (PostgreSQL): reassign to this role, or drop them when null. */
  reassignOwnedTo: string | null;
  tls: boolean;
  /** Type-specific extras (kept small and validated by the producer). */
  options: Record<string, string | number | boolean>;
}

/** An account to create: the name and password are chosen by Tessera (random, never logged). */
export interface AccountSpec {
  username: string;
  password: string;
  /**
   * When the target should stop accepting the account (`{{expiration}}`); null: never (a rotated
   * secret's accounts). A producer must not turn null into a past date (1970).
   */
  expiresAtMs: number | null;
}

/** What a producer reports about an account it was asked to remove. */
export interface RevocationResult {
  /** Whether the account existed (an already-absent account is a successful revocation). */
  existed: boolean;
  /** Sessions of the account that were terminated. */
  sessionsTerminated: number;
}

export interface Producer {
  readonly type: ProducerType;
  /** The target's limit on account names (default 63, PostgreSQL's); usernames are cut to fit. */
  readonly maxUsernameLength?: number;
  /** Validates and normalises settings given by an administrator (no I/O); throws a validation error. */
  normaliseSettings(input: Record<string, unknown>): ProducerSettings;
  /** Connects as the administrator and checks the settings work (used at creation, with a timeout). */
  check(settings: ProducerSettings): Promise<void>;
  /** Creates the account; on failure nothing is left behind (or the failure says what was). */
  createAccount(settings: ProducerSettings, account: AccountSpec): Promise<void>;
  /** Drops the account, terminates its live sessions, handles owned objects. Idempotent. */
  revokeAccount(settings: ProducerSettings, username: string): Promise<RevocationResult>;
  /**
   * Optional batch form of `revokeAccount` (the reaper's mass expiry: one round trip per batch, not
   * per account). Returns one outcome per username, in order; an Error for an account it could not
   * revoke. Producers without it are called once per account, a few in parallel.
   */
  revokeAccounts?(
    settings: ProducerSettings,
    usernames: readonly string[],
  ): Promise<Array<RevocationResult | Error>>;
  /** Accounts on the target whose name starts with `settings.usernamePrefix` (for the sweep). */
  listAccounts(settings: ProducerSettings): Promise<string[]>;
  /**
   * When each account's password was last set (epoch ms), for the accounts `listAccounts` sees, when
   * the target records it (MariaDB/MySQL); an account on several hosts gets its oldest. Producers
   * whose target keeps no such date (PostgreSQL, Redis) do not implement it.
   */
  passwordChangedAt?(settings: ProducerSettings): Promise<Map<string, number>>;
  /** Sets a new password on an existing account (rotated secrets). */
  setPassword(settings: ProducerSettings, username: string, password: string): Promise<void>;
  /** Releases pooled connections (server shutdown). */
  close(): Promise<void>;
}

/**
 * Why a target refused or failed an operation (issue 10): a stable reason an administrator can act
 * on. Producers classify their drivers' errors into these; the public message never holds a
 * password, a statement or the driver's full text.
 */
export type TargetFailureReason =
  | 'authentication_failed'
  | 'permission_denied'
  | 'unreachable'
  | 'timeout'
  | 'database_not_found'
  | 'account_missing'
  | 'account_exists'
  | 'target_error';

/** A classified target failure; `message` is safe to show (scrubbed, bounded). */
export class TargetError extends Error {
  constructor(
    readonly reason: TargetFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}

/**
 * A revocation whose first step succeeded — the account can no longer log in and its sessions are
 * ended — but whose clean-up (owned objects, dropping the account) failed. The lease stays due (and
 * ends `revoke_failed`, alerted), but the credential is not alive.
 */
export class AccountDisabledError extends Error {
  readonly failure: TargetError;
  constructor(failure: Error) {
    super(`the account is disabled, but its clean-up failed: ${failure.message}`);
    this.name = 'AccountDisabledError';
    this.failure =
      failure instanceof TargetError ? failure : new TargetError('target_error', failure.message);
  }
}

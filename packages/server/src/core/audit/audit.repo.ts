import type { RequestContext } from '../shared/context.js';
import type { AuditEvent, AuditOutcome, StoredAuditEvent } from './audit.model.js';

/** The audit ledger. `append` chains the event onto the head inside the caller's transaction. */
export interface AuditRepo {
  append(event: AuditEvent, ctx: RequestContext, atMs: number): Promise<void>;
  list(afterSeq: number, limit: number): Promise<StoredAuditEvent[]>;
  /** Events matching `filter`, in the order `page` asks for, at most `limit`. */
  query(filter: AuditFilter, page: AuditPageRequest, limit: number): Promise<StoredAuditEvent[]>;
}

/** An event type to match: exactly, or every type starting with `value` (`uid.token.*`). */
export interface AuditTypePattern {
  value: string;
  prefix: boolean;
}

/** What to look for in the ledger; every given field must match. */
export interface AuditFilter {
  /** The acting identity (`actor.identityId`). */
  identityId?: string;
  /** The auth method acted through (`actor.authMethodId`). */
  authMethodId?: string;
  /** Any of these types. */
  types?: AuditTypePattern[];
  outcome?: AuditOutcome;
  resourcePrefix?: string;
  /**
   * Every one of these ids is a party: the actor's identity or auth method, or one of the
   * `data.parties` a delegation event (token exchange) records.
   */
  parties?: string[];
  /** Inclusive lower bound of the event time. */
  sinceMs?: number;
  /** Exclusive upper bound of the event time. */
  untilMs?: number;
}

/**
 * Which slice of the matches: oldest first after a sequence number (follow a live ledger), or newest
 * first before one (`null`: from the newest event).
 */
export type AuditPageRequest =
  | { order: 'ascending'; afterSeq: number }
  | { order: 'descending'; beforeSeq: number | null };

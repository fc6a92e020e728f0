import type { Page } from '../shared/context.js';
import { validationError } from '../shared/errors.js';
import type { AuditHasher } from '../shared/platform.port.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { AuditOutcome, StoredAuditEvent } from './audit.model.js';
import type { AuditFilter, AuditPageRequest, AuditTypePattern } from './audit.repo.js';

/** A query of the ledger as the API takes it (times ISO-8601, patterns as text). */
export interface AuditEventQuery {
  identityId?: string;
  authMethodId?: string;
  /** Types or `prefix*` patterns, comma-separated; an event matching any of them is kept. */
  type?: string;
  outcome?: AuditOutcome;
  resourcePrefix?: string;
  /** Comma-separated party ids; every one must be a party of the event. */
  party?: string;
  since?: string;
  until?: string;
  /** Oldest first after this sequence number (follow mode); no cursor then. */
  afterSeq?: number;
  /** Newest first, older than the page that returned this cursor. */
  cursor?: string;
  limit?: number;
}

export interface AuditServiceDeps {
  uow: UnitOfWork;
  hasher: AuditHasher;
}

const MAX_TYPE_PATTERNS = 10;
const TYPE_PATTERN = /^([A-Za-z0-9_.-]{1,100})(\*?)$/;
const CURSOR = /^[1-9][0-9]{0,15}$/;
const DEFAULT_LIMIT = 100;

/** `auth.failed,uid.*` → exact `auth.failed` or any type starting with `uid.`. */
export function parseTypePatterns(text: string): AuditTypePattern[] {
  const parts = text.split(',');
  if (parts.length > MAX_TYPE_PATTERNS) {
    throw validationError(`type takes at most ${MAX_TYPE_PATTERNS} patterns.`, { field: 'type' });
  }
  return parts.map((part) => {
    const match = TYPE_PATTERN.exec(part);
    if (!match) {
      throw validationError('type must be event types or prefixes ending in "*" (e.g. uid.token.*).', {
        field: 'type',
      });
    }
    return { value: match[1]!, prefix: match[2] === '*' };
  });
}

function timeOf(iso: string | undefined, field: string): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw validationError(`${field} must be an ISO-8601 time.`, { field });
  return ms;
}

/** The filter part of a query, checked. */
export function toAuditFilter(q: AuditEventQuery): AuditFilter {
  const filter: AuditFilter = {};
  if (q.identityId !== undefined) filter.identityId = q.identityId;
  if (q.authMethodId !== undefined) filter.authMethodId = q.authMethodId;
  if (q.type !== undefined) filter.types = parseTypePatterns(q.type);
  if (q.outcome !== undefined) filter.outcome = q.outcome;
  if (q.resourcePrefix !== undefined) filter.resourcePrefix = q.resourcePrefix;
  if (q.party !== undefined) {
    const parties = q.party.split(',');
    if (parties.length > 5 || parties.some((x) => x.length === 0 || x.length > 64))
      throw validationError('party takes up to 5 ids, comma-separated.', { field: 'party' });
    filter.parties = parties;
  }
  const sinceMs = timeOf(q.since, 'since');
  const untilMs = timeOf(q.until, 'until');
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) {
    throw validationError('since must be before until.', { field: 'since' });
  }
  if (sinceMs !== undefined) filter.sinceMs = sinceMs;
  if (untilMs !== undefined) filter.untilMs = untilMs;
  return filter;
}

/** The page part of a query, checked: `afterSeq` (ascending) or `cursor` (descending), not both. */
export function toAuditPage(q: AuditEventQuery): AuditPageRequest {
  if (q.afterSeq !== undefined && q.cursor !== undefined) {
    throw validationError('Give afterSeq or cursor, not both.', { field: 'cursor' });
  }
  if (q.afterSeq !== undefined) return { order: 'ascending', afterSeq: q.afterSeq };
  if (q.cursor === undefined) return { order: 'descending', beforeSeq: null };
  if (!CURSOR.test(q.cursor) || !Number.isSafeInteger(Number(q.cursor))) {
    throw validationError('cursor is not a cursor from a previous page.', { field: 'cursor' });
  }
  return { order: 'descending', beforeSeq: Number(q.cursor) };
}

/**
 * Reading the audit ledger (`GET /v1/audit/events`) and hashing a value the way audit does
 * (`POST /v1/audit/hash`). Appending is not here: every service appends in its own unit of work.
 */
export function createAuditService({ uow, hasher }: AuditServiceDeps) {
  return {
    /** Newest first with a cursor to older events, or oldest first after `afterSeq` (no cursor). */
    async list(query: AuditEventQuery): Promise<Page<StoredAuditEvent>> {
      const filter = toAuditFilter(query);
      const page = toAuditPage(query);
      const limit = query.limit ?? DEFAULT_LIMIT;
      if (page.order === 'ascending') {
        return { items: await uow.read((r) => r.audit.query(filter, page, limit)), nextCursor: null };
      }
      const rows = await uow.read((r) => r.audit.query(filter, page, limit + 1));
      const items = rows.slice(0, limit);
      return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]!.seq) : null };
    },

    /** The keyed hash of `value`, to search the ledger for a value without storing it. */
    hash(value: string): string {
      return hasher.hash(value);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

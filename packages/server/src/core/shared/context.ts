import type { AuditActor } from '../audit/audit.model.js';

/** Where a request came from and who made it; carried into audit events. */
export interface RequestContext {
  requestId: string;
  sourceIp: string;
  userAgent: string | null;
  /** The authenticated caller, once known. */
  actor: AuditActor | null;
}

/** A page of results with an opaque cursor for the next page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const systemContext = (requestId = 'system'): RequestContext => ({
  requestId,
  sourceIp: '127.0.0.1',
  userAgent: null,
  actor: null,
});

import type { RequestContext } from '../shared/context.js';
import type { AuditEvent, StoredAuditEvent } from './audit.model.js';

/** The audit ledger. `append` chains the event onto the head inside the caller's transaction. */
export interface AuditRepo {
  append(event: AuditEvent, ctx: RequestContext, atMs: number): Promise<void>;
  list(afterSeq: number, limit: number): Promise<StoredAuditEvent[]>;
}

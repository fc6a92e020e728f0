import type { RequestContext } from '../shared/context.js';
import type { Clock } from '../shared/platform.port.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { AuditEvent } from './audit.model.js';

interface OpenDenial {
  event: AuditEvent;
  ctx: RequestContext;
  firstAtMs: number;
  lastAtMs: number;
  /** Identical denials after the first, not yet written. */
  repeats: number;
}

/**
 * Authorization decisions (denials, and granted reads: a polling client such as `audit list
 * --follow` would otherwise feed the ledger with its own reads). They are audited without letting a misbehaving client flood the ledger: the first
 * denial of a kind (same caller, action, resource, reason and source) is written at once; identical
 * ones within the window are counted and written as one event with `repeated` when the window
 * closes (or at shutdown).
 */
export function createDenialRecorder(deps: { uow: UnitOfWork; clock: Clock; windowMs?: number }) {
  const { uow, clock } = deps;
  const windowMs = deps.windowMs ?? 60_000;
  const open = new Map<string, OpenDenial>();

  const keyOf = (event: AuditEvent, ctx: RequestContext) =>
    JSON.stringify([
      event.type,
      ctx.actor?.identityId,
      ctx.actor?.authMethodId,
      ctx.actor?.uidNodeId,
      event.resource,
      event.reason,
      ctx.sourceIp,
    ]);

  async function writeRepeats(entry: OpenDenial): Promise<void> {
    if (entry.repeats === 0) return;
    const summary: AuditEvent = {
      ...entry.event,
      data: {
        ...entry.event.data,
        repeated: entry.repeats,
        firstAt: new Date(entry.firstAtMs).toISOString(),
        lastAt: new Date(entry.lastAtMs).toISOString(),
      },
    };
    await uow.write((r) => r.audit.append(summary, entry.ctx, clock.nowMs()));
  }

  /** Writes summaries of the windows that have closed (all of them with `all`). */
  async function flush(all = false): Promise<number> {
    const now = clock.nowMs();
    let written = 0;
    for (const [key, entry] of open) {
      if (!all && now - entry.firstAtMs < windowMs) continue;
      open.delete(key);
      if (entry.repeats > 0) written++;
      await writeRepeats(entry);
    }
    return written;
  }

  return {
    flush,
    /** Audits one decision (a denial, or a granted read), collapsing repeats. */
    async record(event: AuditEvent, ctx: RequestContext): Promise<void> {
      const now = clock.nowMs();
      const key = keyOf(event, ctx);
      const entry = open.get(key);
      if (entry && now - entry.firstAtMs < windowMs) {
        entry.repeats++;
        entry.lastAtMs = now;
        return;
      }
      if (entry) {
        open.delete(key);
        await writeRepeats(entry);
      }
      if (open.size >= 10_000) await flush(true);
      open.set(key, { event, ctx: { ...ctx }, firstAtMs: now, lastAtMs: now, repeats: 0 });
      await uow.write((r) => r.audit.append(event, ctx, now));
    },
  };
}

export type DenialRecorder = ReturnType<typeof createDenialRecorder>;

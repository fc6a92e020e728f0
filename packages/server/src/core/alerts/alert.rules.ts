import type { StoredAuditEvent } from '../audit/audit.model.js';
import type { AuditSinkKind } from '../audit/audit-sink.port.js';
import type { UidNode } from '../uid/uid.model.js';
import type { Alert } from './alert.model.js';

/** Pure alert rules over committed audit events and state snapshots (no clock, no I/O). */

const actorFields = (e: StoredAuditEvent) => ({
  identityId: e.actor.identityId ?? null,
  authMethodId: e.actor.authMethodId ?? null,
  uidNodeId: e.actor.uidNodeId ?? null,
  credentialRef: e.actor.credentialRef ?? null,
});

/** A rotated-away UID token was presented again: someone else may hold it. */
/** A break-glass activation (issue 14): a role taken without approval, so someone must look now. */
export function breakGlassAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'jit.break_glass') return null;
  const data = e.data ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    rule: 'jit_break_glass',
    severity: 'critical',
    subject: `identity:${str(data.identityId) ?? 'unknown'}`,
    title: `Break-glass: role ${str(data.roleName) ?? '?'} activated without approval`,
    atMs: e.atMs,
    fields: {
      ...actorFields(e),
      roleName: str(data.roleName),
      justification: str(data.justification),
      expiresAt: str(data.expiresAt),
      requestId: e.requestId,
      eventId: e.id,
    },
  };
}

/**
 * A one-time federated token (issue 13) was presented again: whoever sent it second copied it from
 * the workload (a CI log, an artefact, a proxy) or the workload is being replayed.
 */
export function federatedReplayAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'auth.failed' || e.reason !== 'federation_token_replayed') return null;
  const federation = (e.data?.federation ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const methodId = e.actor.authMethodId ?? 'unknown';
  return {
    rule: 'federated_token_replay',
    severity: 'critical',
    subject: `auth-method:${methodId}`,
    title: `Replay of a one-time federated token (method ${methodId})`,
    atMs: e.atMs,
    fields: {
      ...actorFields(e),
      issuer: str(federation.issuer),
      tokenSubject: str(federation.subject),
      sourceIp: e.sourceIp,
      requestId: e.requestId,
      eventId: e.id,
    },
  };
}

export function reuseAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'uid.token.reuse_detected') return null;
  const data = e.data ?? {};
  const nodeId = typeof data.nodeId === 'string' ? data.nodeId : (e.actor.uidNodeId ?? 'unknown');
  return {
    rule: 'uid_token_reuse',
    severity: 'critical',
    subject: `uid-node:${nodeId}`,
    title: `Reuse of a rotated UID token detected (node ${nodeId})`,
    atMs: e.atMs,
    fields: {
      ...actorFields(e),
      nodeId,
      resource: e.resource ?? null,
      policy: typeof data.policy === 'string' ? data.policy : null,
      revokedCount: typeof data.revokedCount === 'number' ? data.revokedCount : null,
      sourceIp: e.sourceIp,
      requestId: e.requestId,
      eventId: e.id,
      eventHash: e.hash,
    },
  };
}

/** A rotation step failed on its target: the last good credential is kept and retried (issue 6, ADR 0011). */
export function rotationFailureAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'rotated_secret.rotation_failed') return null;
  const data = e.data ?? {};
  const field = (k: string) =>
    typeof data[k] === 'string' || typeof data[k] === 'number' ? (data[k] as string | number) : null;
  return {
    rule: 'rotated_secret_rotation_failed',
    severity: 'warning',
    subject: `rotated-secret:${e.resource ?? 'unknown'}`,
    title: `Rotation of ${e.resource ?? 'a rotated secret'} failed (the last good credential is kept)`,
    atMs: e.atMs,
    fields: {
      resource: e.resource ?? null,
      rotatedSecretId: field('rotatedSecretId'),
      phase: field('phase'),
      failures: field('failures'),
      nextAttemptAt: field('nextAttemptAt'),
      eventId: e.id,
      eventHash: e.hash,
    },
  };
}

/**
 * The reaper gave up revoking a lease (`revoke_failed`, after its retries): the account may still
 * work on the target past its lease (issue 6, ADR 0010). The subject is the dynamic secret, so a
 * target down for many leases at once alerts once per dedupe window, not once per lease.
 */
export function leaseRevokeFailedAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'lease.revoke_failed') return null;
  const data = e.data ?? {};
  const field = (k: string) =>
    typeof data[k] === 'string' || typeof data[k] === 'number' ? (data[k] as string | number) : null;
  return {
    rule: 'lease_revoke_failed',
    severity: 'critical',
    subject: `dynamic-secret:${e.resource ?? 'unknown'}`,
    title: `A lease of ${e.resource ?? 'a dynamic secret'} could not be revoked: its account may still work on the target`,
    atMs: e.atMs,
    fields: {
      resource: e.resource ?? null,
      leaseId: field('leaseId'),
      username: field('username'),
      identityId: field('identityId'),
      attempts: field('attempts'),
      // Redacted at the source (first line, quoted values elided, ≤ 300 characters).
      reason: e.reason ?? null,
      eventId: e.id,
      eventHash: e.hash,
    },
  };
}

export interface ChildThresholds {
  /** Children of one node within `windowMs` that make a burst. */
  burst: number;
  windowMs: number;
  /** A child created when its parent has at most this percentage of its TTL left. */
  expiryPercent: number;
}

/** Recent child creations per parent node; the caller keeps it between calls. */
export type ChildBurstState = Map<string, number[]>;

/**
 * Unusual child creation (issue 10): a child's TTL does not depend on its parent's, so a stolen
 * token — even one about to expire — can leave a long-lived credential behind without ever meeting
 * reuse detection. Three signs, each its own alert subject: the parent's first child ever, a burst
 * of children from one parent, and a child created by a parent close to its expiry.
 */
export function unusualChildAlerts(state: ChildBurstState, e: StoredAuditEvent, t: ChildThresholds): Alert[] {
  if (e.type !== 'uid.token.child_created' || e.outcome !== 'success') return [];
  const data = e.data ?? {};
  const parentId = typeof data.parentId === 'string' ? data.parentId : null;
  if (!parentId) return [];
  const num = (k: string) => (typeof data[k] === 'number' ? (data[k] as number) : null);
  const creator = (data.createdBy ?? {}) as Record<string, unknown>;
  const base = {
    ...actorFields(e),
    parentId,
    childId: typeof data.nodeId === 'string' ? data.nodeId : null,
    childTtlSeconds: num('ttlSeconds'),
    createdByKind: typeof creator.kind === 'string' ? creator.kind : null,
    parentRemainingSeconds: num('parentRemainingSeconds'),
    parentTtlSeconds: num('parentTtlSeconds'),
    liveChildren: num('liveChildren'),
    resource: e.resource ?? null,
    sourceIp: e.sourceIp,
    requestId: e.requestId,
    eventId: e.id,
  };
  const alerts: Alert[] = [];
  const raise = (reason: string, severity: Alert['severity'], title: string, extra = {}) =>
    alerts.push({
      rule: 'uid_child_unusual',
      severity,
      subject: `uid-node:${parentId}:${reason}`,
      title,
      atMs: e.atMs,
      fields: { reason, ...base, ...extra },
    });
  if (data.firstChild === true)
    raise('first_child', 'info', `UID node ${parentId} created its first child token`);
  const remaining = num('parentRemainingSeconds');
  const parentTtl = num('parentTtlSeconds');
  if (remaining !== null && parentTtl !== null && remaining * 100 <= parentTtl * t.expiryPercent)
    raise(
      'parent_near_expiry',
      'warning',
      `UID node ${parentId} created a child token ${remaining} s before its own expiry (the child lives ${num('ttlSeconds') ?? '?'} s)`,
    );
  const times = (state.get(parentId) ?? []).filter((ms) => ms > e.atMs - t.windowMs);
  times.push(e.atMs);
  if (times.length >= t.burst) {
    state.delete(parentId);
    raise(
      'burst',
      'warning',
      `UID node ${parentId} created ${times.length} child tokens within ${Math.round(t.windowMs / 1000)} s`,
      { children: times.length, windowSeconds: Math.round(t.windowMs / 1000) },
    );
  } else {
    state.set(parentId, times);
  }
  return alerts;
}

export interface BurstThresholds {
  failures: number;
  windowMs: number;
}

/** Recent failure times per subject (`identity:…`, `source:…`); the caller keeps it between calls. */
export type BurstState = Map<string, number[]>;

const isAuthFailure = (e: StoredAuditEvent) => e.type === 'auth.failed' && e.outcome !== 'success';

/**
 * Counts failed authentications per identity and per source address in a sliding window; an
 * alert when a subject reaches the threshold (its window then starts over).
 */
export function authFailureBurstAlerts(state: BurstState, e: StoredAuditEvent, t: BurstThresholds): Alert[] {
  if (!isAuthFailure(e)) return [];
  const subjects: string[] = [];
  if (e.actor.identityId) subjects.push(`identity:${e.actor.identityId}`);
  if (e.sourceIp) subjects.push(`source:${e.sourceIp}`);
  const alerts: Alert[] = [];
  for (const subject of subjects) {
    const times = (state.get(subject) ?? []).filter((ms) => ms > e.atMs - t.windowMs);
    times.push(e.atMs);
    if (times.length >= t.failures) {
      state.delete(subject);
      alerts.push({
        rule: 'auth_failure_burst',
        severity: 'warning',
        subject,
        title: `${times.length} failed authentications for ${subject} within ${Math.round(t.windowMs / 1000)} s`,
        atMs: e.atMs,
        fields: {
          subject,
          failures: times.length,
          windowSeconds: Math.round(t.windowMs / 1000),
          lastReason: e.reason ?? null,
          ...actorFields(e),
          sourceIp: e.sourceIp,
          lastEventId: e.id,
        },
      });
    } else {
      state.set(subject, times);
    }
  }
  return alerts;
}

/** Forgets subjects whose failures all left the window (keeps the state bounded). */
export function pruneBurstState(state: BurstState, nowMs: number, windowMs: number): void {
  for (const [subject, times] of state) {
    if (times[times.length - 1]! <= nowMs - windowMs) state.delete(subject);
  }
}

/** A sink turned failing or recovered. */
export function sinkHealthAlert(
  kind: AuditSinkKind,
  healthy: boolean,
  allFailing: boolean,
  atMs: number,
  errorMessage: string | null,
): Alert {
  return healthy
    ? {
        rule: 'audit_sink_recovered',
        severity: 'info',
        subject: `sink:${kind}`,
        title: `Audit sink ${kind} recovered`,
        atMs,
        fields: { sink: kind, healthy: true },
      }
    : {
        rule: 'audit_sink_failing',
        severity: allFailing ? 'critical' : 'warning',
        subject: `sink:${kind}`,
        title: allFailing
          ? `Audit sink ${kind} is failing and no audit sink can write: requests that need an audit record are refused`
          : `Audit sink ${kind} is failing`,
        atMs,
        fields: { sink: kind, healthy: false, allSinksFailing: allFailing, error: errorMessage },
      };
}

/**
 * A live UID token close to expiry (within `percent` of its TTL) whose node saw no rotation for
 * half its TTL: its holder is probably not rotating and is about to lose access.
 */
export function isNearExpiryWithoutRotation(node: UidNode, nowMs: number, percent: number): boolean {
  if (node.revokedAtMs !== null || node.expiresAtMs <= nowMs) return false;
  const ttlMs = node.ttlSeconds * 1000;
  const lastRotatedMs = node.lastRotatedAtMs ?? node.createdAtMs;
  return node.expiresAtMs - nowMs <= (ttlMs * percent) / 100 && nowMs - lastRotatedMs > ttlMs / 2;
}

export function nearExpiryAlerts(nodes: readonly UidNode[], nowMs: number, percent: number): Alert[] {
  return nodes
    .filter((n) => isNearExpiryWithoutRotation(n, nowMs, percent))
    .map((n) => ({
      rule: 'uid_token_near_expiry' as const,
      severity: 'warning' as const,
      subject: `uid-node:${n.id}`,
      title: `UID token of node ${n.id} expires in ${Math.max(0, Math.round((n.expiresAtMs - nowMs) / 1000))} s and has not been rotated`,
      atMs: nowMs,
      fields: {
        nodeId: n.id,
        authMethodId: n.methodId,
        identityId: n.identityId,
        expiresAt: new Date(n.expiresAtMs).toISOString(),
        lastRotatedAt: n.lastRotatedAtMs === null ? null : new Date(n.lastRotatedAtMs).toISOString(),
        ttlSeconds: n.ttlSeconds,
      },
    }));
}

/** The ledger reached 90 % of its configured bound. */
export function ledgerSizeAlert(events: number, maxEvents: number, atMs: number): Alert | null {
  if (maxEvents <= 0 || events < maxEvents * 0.9) return null;
  return {
    rule: 'audit_ledger_near_full',
    severity: events >= maxEvents ? 'critical' : 'warning',
    subject: 'ledger',
    title: `The audit ledger holds ${events} events, ${Math.floor((events / maxEvents) * 100)} % of its bound (${maxEvents})`,
    atMs,
    fields: { events, maxEvents },
  };
}

/** Last time each (rule, subject) was sent. */
export type DedupeState = Map<string, number>;

/** True when the alert may go out: the same rule and subject did not go out within `windowMs`. */
export function shouldSend(state: DedupeState, alert: Alert, nowMs: number, windowMs: number): boolean {
  const key = `${alert.rule}\u0000${alert.subject}`;
  const last = state.get(key);
  if (last !== undefined && nowMs - last < windowMs) return false;
  state.set(key, nowMs);
  if (state.size > 10_000) {
    for (const [k, at] of state) if (nowMs - at >= windowMs) state.delete(k);
  }
  return true;
}

/**
 * A leaked credential was revoked (ADR 0020): addressed to the owner of the identity it belonged
 * to, with where it was found. One per revocation (a re-report revokes nothing and alerts nothing).
 */
export function leakedCredentialAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'leak.revoked') return null;
  const data = e.data ?? {};
  const text = (k: string) => (typeof data[k] === 'string' ? (data[k] as string) : null);
  return {
    rule: 'credential_leaked',
    severity: 'critical',
    subject: `finding:${text('findingId') ?? e.id}`,
    title: `A leaked ${text('kind') ?? 'credential'} of ${text('identityName') ?? text('rotatedSecret') ?? 'an identity'} was found${text('location') ? ` in ${text('location')}` : ''} and revoked`,
    atMs: e.atMs,
    fields: {
      owner: text('owner'),
      identityId: text('identityId'),
      identityName: text('identityName'),
      rotatedSecret: text('rotatedSecret'),
      kind: text('kind'),
      findingId: text('findingId'),
      location: text('location'),
      credentialRef: text('auditHash'),
      eventId: e.id,
    },
  };
}

/**
 * A key share of the live root key was reported (ADR 0020): nothing on the server can revoke it, and
 * fewer than the threshold of shares opens nothing, but the margin is gone — operators rotate the
 * root key (`tessera root-key rotate`) and split the new one. Once per finding.
 */
export function unsealShareLeakedAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'leak.unseal_share_live') return null;
  const data = e.data ?? {};
  const text = (k: string) => (typeof data[k] === 'string' ? (data[k] as string) : null);
  return {
    rule: 'unseal_share_leaked',
    severity: 'critical',
    subject: `finding:${text('findingId') ?? e.id}`,
    title: `A key share of the live root key ${text('keyId') ?? ''} was found${text('location') ? ` in ${text('location')}` : ''}: rotate the root key and split the new one`,
    atMs: e.atMs,
    fields: {
      keyId: text('keyId'),
      findingId: text('findingId'),
      location: text('location'),
      credentialRef: text('auditHash'),
      eventId: e.id,
    },
  };
}

/**
 * Access reviews (issue 16, ADR 0029): a reminder to an owner with identities still to certify, and
 * the consequence once the due date passed without an answer (notified, or suspended). Addressed to
 * the owner; identity names and counts only.
 */
export function accessReviewAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'governance.review_reminder' && e.type !== 'governance.review_expired') return null;
  const data = e.data ?? {};
  const text = (k: string) => (typeof data[k] === 'string' ? (data[k] as string) : null);
  const campaign = text('campaignId') ?? 'unknown';
  if (e.type === 'governance.review_reminder') {
    const pending = typeof data.pending === 'number' ? data.pending : 0;
    return {
      rule: 'access_review_reminder',
      severity: 'info',
      subject: `review:${campaign}:${text('owner') ?? ''}`,
      title: `${pending} identities of ${text('owner') ?? 'an owner'} await an access review decision (${text('campaignName') ?? campaign}, due ${text('dueAt') ?? '?'})`,
      atMs: e.atMs,
      fields: {
        owner: text('owner'),
        campaignId: campaign,
        campaignName: text('campaignName'),
        pending,
        dueAt: text('dueAt'),
        eventId: e.id,
      },
    };
  }
  return {
    rule: 'access_review_overdue',
    severity: text('outcome') === 'suspended' ? 'warning' : 'info',
    subject: `review:${campaign}:${text('identityId') ?? ''}`,
    title: `No access review answer for ${text('identityName') ?? 'an identity'} by the due date: ${text('outcome') ?? 'owner notified'}`,
    atMs: e.atMs,
    fields: {
      owner: text('owner'),
      campaignId: campaign,
      identityId: text('identityId'),
      identityName: text('identityName'),
      consequence: text('consequence'),
      outcome: text('outcome'),
      eventId: e.id,
    },
  };
}

const ANOMALY_TITLES: Record<string, string> = {
  new_source: 'from a network it never used',
  unusual_hour: 'at an hour it is never active',
  rate_spike: 'at a rate far above its busiest hour',
  new_resource: 'on resources it never touched',
};

/**
 * A deviation from an identity's baseline (issue 16, ADR 0033), found by the governance leader job
 * and recorded as `governance.anomaly`: one alert per deviation (the detector learns each at once,
 * so it is not repeated), with the observed value against the baseline as evidence.
 */
export function identityAnomalyAlert(e: StoredAuditEvent): Alert | null {
  if (e.type !== 'governance.anomaly') return null;
  const data = e.data ?? {};
  const fields: Alert['fields'] = {};
  for (const [k, v] of Object.entries(data))
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  const kind = typeof data.kind === 'string' ? data.kind : 'unknown';
  const identityId = typeof data.identityId === 'string' ? data.identityId : 'unknown';
  return {
    rule: 'identity_anomaly',
    severity: kind === 'new_source' || kind === 'rate_spike' ? 'warning' : 'info',
    subject: `identity:${identityId}:${kind}`,
    title: `Identity ${identityId} acted ${ANOMALY_TITLES[kind] ?? 'unusually'} (${kind}: ${String(data.observed ?? '?')})`,
    atMs: e.atMs,
    fields: { ...fields, eventId: e.id },
  };
}

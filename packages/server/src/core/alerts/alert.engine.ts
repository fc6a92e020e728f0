import type { StoredAuditEvent } from '../audit/audit.model.js';
import type { AuditSinkKind } from '../audit/audit-sink.port.js';
import type { Clock } from '../shared/platform.port.js';
import type { UidNode } from '../uid/uid.model.js';
import type { Alert, AlertNotifier, AlertRule } from './alert.model.js';
import {
  accessReviewAlert,
  authFailureBurstAlerts,
  type BurstState,
  breakGlassAlert,
  type ChildBurstState,
  type DedupeState,
  federatedReplayAlert,
  identityAnomalyAlert,
  leakedCredentialAlert,
  leaseRevokeFailedAlert,
  ledgerSizeAlert,
  nearExpiryAlerts,
  pruneBurstState,
  reuseAlert,
  rotationFailureAlert,
  shouldSend,
  sinkHealthAlert,
  unsealShareLeakedAlert,
  unusualChildAlerts,
} from './alert.rules.js';

export interface AlertEngineDeps {
  notifier: AlertNotifier;
  clock: Clock;
  settings: {
    authFailureBurst: number;
    authFailureWindowSeconds: number;
    dedupeSeconds: number;
    expiryPercent: number;
    /** Unusual child creation: children of one node within the window that make a burst. */
    uidChildBurst?: number;
    uidChildBurstWindowSeconds?: number;
  };
  /** Each alert that went out (metrics). */
  onAlert?: (rule: AlertRule) => void;
}

/** Runs the rules over what happens and sends each alert once per dedupe window. */
export function createAlertEngine({ notifier, clock, settings, onAlert }: AlertEngineDeps) {
  const bursts: BurstState = new Map();
  const childBursts: ChildBurstState = new Map();
  const child = {
    burst: settings.uidChildBurst ?? 5,
    windowMs: (settings.uidChildBurstWindowSeconds ?? 600) * 1000,
    expiryPercent: settings.expiryPercent,
  };
  const sent: DedupeState = new Map();
  const windowMs = settings.authFailureWindowSeconds * 1000;

  function raise(alert: Alert | null, dedupe = true) {
    if (!alert) return;
    if (dedupe && !shouldSend(sent, alert, clock.nowMs(), settings.dedupeSeconds * 1000)) return;
    onAlert?.(alert.rule);
    notifier.notify(alert);
  }

  return {
    /** Committed audit events, in order. */
    observe(events: readonly StoredAuditEvent[]) {
      for (const e of events) {
        raise(reuseAlert(e));
        raise(federatedReplayAlert(e));
        raise(breakGlassAlert(e));
        raise(rotationFailureAlert(e));
        raise(leaseRevokeFailedAlert(e));
        raise(leakedCredentialAlert(e), false);
        raise(unsealShareLeakedAlert(e), false);
        raise(accessReviewAlert(e), false);
        raise(identityAnomalyAlert(e), false);
        const t = { failures: settings.authFailureBurst, windowMs };
        for (const a of authFailureBurstAlerts(bursts, e, t)) raise(a);
        for (const a of unusualChildAlerts(childBursts, e, child)) raise(a);
      }
      if (bursts.size > 1_000) pruneBurstState(bursts, clock.nowMs(), windowMs);
      if (childBursts.size > 1_000) pruneBurstState(childBursts, clock.nowMs(), child.windowMs);
    },
    /** A sink changed health; transitions are rare and each is reported (no dedupe). */
    sinkHealth(kind: AuditSinkKind, healthy: boolean, allFailing: boolean, error: unknown) {
      const message = error instanceof Error ? error.message.slice(0, 300) : null;
      raise(sinkHealthAlert(kind, healthy, allFailing, clock.nowMs(), message), false);
    },
    /** UID nodes that may be near expiry (the rule re-checks each). */
    nearExpiry(nodes: readonly UidNode[]) {
      for (const a of nearExpiryAlerts(nodes, clock.nowMs(), settings.expiryPercent)) raise(a);
    },
    ledgerSize(events: number, maxEvents: number) {
      raise(ledgerSizeAlert(events, maxEvents, clock.nowMs()));
    },
  };
}

export type AlertEngine = ReturnType<typeof createAlertEngine>;

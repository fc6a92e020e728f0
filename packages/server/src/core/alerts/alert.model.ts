/** The alert rules (a closed set: the `rule` label of `tessera_alerts_total`). */
export const ALERT_RULES = [
  'uid_token_reuse',
  'federated_token_replay',
  'auth_failure_burst',
  'audit_sink_failing',
  'audit_sink_recovered',
  'uid_token_near_expiry',
  'audit_ledger_near_full',
  'rotated_secret_rotation_failed',
  'lease_revoke_failed',
  'uid_child_unusual',
  'jit_break_glass',
  'credential_leaked',
  'unseal_share_leaked',
  'access_review_reminder',
  'access_review_overdue',
  'identity_anomaly',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export type AlertSeverity = 'critical' | 'warning' | 'info';

/** One alert. Fields hold ids, hashes and counts only: never a token, key or secret. */
export interface Alert {
  rule: AlertRule;
  severity: AlertSeverity;
  /** What the alert is about (dedupe key with the rule): an identity, address, node or sink. */
  subject: string;
  title: string;
  atMs: number;
  fields: Record<string, string | number | boolean | null>;
}

/** Delivers alerts (an adapter: webhook, log). Never throws; retries on its own. */
export interface AlertNotifier {
  notify(alert: Alert): void;
}

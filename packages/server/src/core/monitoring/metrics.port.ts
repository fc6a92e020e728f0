/**
 * What the core reports (DESIGN §4.3: injected, never imported as a global). Label values are codes
 * from closed sets; an implementation maps anything else to `other`.
 */
export interface Metrics {
  /** One credential exchange (`POST /v1/auth`), after its audit event committed. */
  authentication(method: string, outcome: AuthOutcome, reason: string | null): void;
  /** One rotation request of a UID token, after its audit event committed. */
  uidRotation(outcome: UidRequestOutcome): void;
  /** A UID token (`self`) or subtree (`all`) revoked on request. */
  uidRevocation(type: 'self' | 'all'): void;
  /** A rotated-away UID token presented again, handled by the method's policy. */
  uidReuseDetected(policy: string): void;
}

export type AuthOutcome = 'success' | 'failure' | 'rate_limited';
/** `failure`: the credential was refused; `denied`: it was valid but the request was not allowed. */
export type UidRequestOutcome = 'success' | 'failure' | 'denied';

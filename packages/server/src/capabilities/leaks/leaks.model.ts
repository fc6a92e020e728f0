import type { CredentialKind } from '../../crypto/credentials.js';

/**
 * What a reported credential turned out to be (ADR 0020). Only readers of findings see it.
 * `action_required`: live, but not something the server can revoke on its own — a key share of the
 * root key the server runs under; rotating the root key (and splitting the new one) kills it, and a
 * report after that records it as `already_dead`.
 */
export type LeakOutcome = 'revoked' | 'already_dead' | 'unknown' | 'action_required';
export const LEAK_OUTCOMES: readonly LeakOutcome[] = [
  'revoked',
  'already_dead',
  'unknown',
  'action_required',
];

/** Where a credential was found: a file and line, a commit, a URL — never the text around it. */
export interface LeakLocation {
  /** A path or URL (`src/app.env`, `https://ci.example/build/42`). */
  uri: string;
  line?: number;
  /** A commit id when found in history or a staged change. */
  commit?: string;
  /** What found it: `tessera scan`, a repository host, a person. */
  source?: string;
}

/** One reported credential: the value itself, or the SHA-256 hex of it (for stored kinds). */
export interface LeakReportItem {
  credential?: string;
  hash?: string;
  location?: LeakLocation;
}

/** The record of a leaked credential: one per credential, however often it is reported. */
export interface LeakFinding {
  id: string;
  /** SHA-256 hex of the credential (what Tessera stores for bearer credentials). */
  credentialHash: string;
  kind: CredentialKind;
  outcome: LeakOutcome;
  identityId: string | null;
  /** The keyed audit hash of the credential, when it was reported in full. */
  auditHash: string | null;
  /** Distinct places it was reported from, newest last (at most {@link MAX_LOCATIONS}). */
  locations: LeakLocation[];
  reportCount: number;
  firstReportedAtMs: number;
  lastReportedAtMs: number;
}

export const MAX_LOCATIONS = 20;

/** A one-line, secret-free description of a location, for audit events and alerts. */
export function describeLocation(location: LeakLocation | undefined): string | null {
  if (!location) return null;
  const line = location.line ? `:${location.line}` : '';
  const commit = location.commit ? ` @${location.commit.slice(0, 12)}` : '';
  return `${location.uri}${line}${commit}`.slice(0, 300);
}

/**
 * How audit events read on a terminal: one line per event, so `grep`, `tail` and `--follow` work
 * as they do on a log file; and JSON lines for scripts.
 */

import type { AuditActor, AuditEvent } from '@tessera/sdk';
import { UsageError } from './cli.errors.js';
import { parseDuration } from './duration.units.js';
import { isoSeconds } from './output.format.js';

/** Longest event type today (`uid.token.reuse_detected`): the type column's width. */
const TYPE_WIDTH = 24;
/** `success`, `failure`, `denied`. */
const OUTCOME_WIDTH = 7;

/** Control characters would let a stored value move the cursor or recolour the terminal. */
function clean(text: string | null | undefined): string {
  if (text === null || text === undefined || text === '') return '-';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function timeOf(e: AuditEvent): string {
  const ms = Date.parse(e.at);
  return Number.isNaN(ms) ? clean(e.at) : isoSeconds(ms);
}

/** `identity/method/node`, each `-` when unknown: `i-abc/p-uid/node1`, `-/p-admin/-`. */
export function formatActor(actor: AuditActor): string {
  return [actor.identityId, actor.authMethodId, actor.uidNodeId].map(clean).join('/');
}

/** `time  outcome  type  resource  actor(identity/method/node)  reason`, one event per line. */
export function formatAuditLine(e: AuditEvent): string {
  return `${[
    timeOf(e),
    clean(e.outcome).padEnd(OUTCOME_WIDTH),
    clean(e.type).padEnd(TYPE_WIDTH),
    clean(e.resource),
    formatActor(e.actor),
    clean(e.reason),
  ].join('  ')}\n`;
}

/**
 * A failed authentication, worded like the log lines operators grep for ("authentication failed")
 * with the internal reason the API answer never gives.
 */
export function formatFailureLine(e: AuditEvent): string {
  const accessType = typeof e.data.accessType === 'string' ? e.data.accessType : null;
  const parts = [
    timeOf(e),
    'authentication failed',
    `reason=${clean(e.reason)}`,
    `event=${clean(e.type)}`,
    ...(accessType ? [`access-type=${clean(accessType)}`] : []),
    `actor=${formatActor(e.actor)}`,
    ...(e.actor.credentialRef ? [`credential=${clean(e.actor.credentialRef)}`] : []),
    ...(e.resource ? [`resource=${clean(e.resource)}`] : []),
    `source=${clean(e.sourceIp)}`,
    `request=${clean(e.requestId)}`,
  ];
  return `${parts.join('  ')}\n`;
}

/** One event as one line of JSON (JSON lines: `jq` and log shippers read them one by one). */
export function jsonLine(e: AuditEvent): string {
  return `${JSON.stringify(e)}\n`;
}

/**
 * A `--since`/`--until` value: an ISO-8601 time, or a duration ago (`30s`, `15m`, `2h`, `7d`).
 *
 * @returns the time as ISO-8601 UTC
 * @throws {@link UsageError} for anything else
 */
export function parseAuditTime(value: string, nowMs: number, flag: string): string {
  // A duration ago, read by the one duration parser of the CLI (units required here: 15m, 2h, 1h30m).
  if (/^(?:[\d.]+\s*[smhd]\s*)+$/i.test(value.trim())) {
    return new Date(nowMs - parseDuration(value, flag, 'seconds') * 1000).toISOString();
  }
  // Only full ISO-8601 dates (with or without a time): not whatever else Date.parse guesses at.
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())
    ? Date.parse(value.trim())
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${flag} must be an ISO-8601 time (2026-01-31T12:00:00Z) or a duration ago (30s, 15m, 2h, 7d); got "${value}"`,
    );
  }
  return new Date(ms).toISOString();
}

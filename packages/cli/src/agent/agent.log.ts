/**
 * The agent's log: one line per state change, JSON lines (`--json`) or readable text, on stderr.
 * Fields are chosen by the caller and never include a token or a secret value.
 */

/** Severity of an {@link AgentEvent}. */
export type AgentLevel = 'info' | 'warn' | 'error';

/** One state change. */
export interface AgentEvent {
  level: AgentLevel;
  /** Stable event name, e.g. `uid.rotated`. */
  event: string;
  /** One sentence for people. */
  message: string;
  /** Extra non-secret facts (expiry times, paths, error codes). */
  fields?: Record<string, string | number | boolean | null>;
}

/** Receives events. */
export type AgentLog = (event: AgentEvent) => void;

/**
 * Formats an event as one line.
 *
 * @param event - the event
 * @param atMs - when it happened
 * @param json - JSON line instead of text
 */
export function formatAgentEvent(event: AgentEvent, atMs: number, json: boolean): string {
  const at = new Date(atMs).toISOString();
  if (json) {
    return `${JSON.stringify({ at, level: event.level, event: event.event, message: event.message, ...event.fields })}\n`;
  }
  const extra = Object.entries(event.fields ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${at} ${event.level.toUpperCase().padEnd(5)} ${event.event}: ${event.message}${extra ? ` (${extra})` : ''}\n`;
}

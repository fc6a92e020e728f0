/**
 * The agent's schedule: run a cycle, sleep until the next step is due; on failure back off
 * exponentially with jitter; stop at once (exit code 2) when the UID token is refused. The clock,
 * the sleep and the randomness are dependencies, so tests run hours of schedule in milliseconds.
 */

import { type AgentCore, AgentFatalError, isTransientError } from './agent.core.js';
import type { AgentLog } from './agent.log.js';

/** Backoff bounds in milliseconds. */
export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 500, maxMs: 60_000 };

/** Never sleep longer than this, so a suspended machine or a clock jump is noticed soon. */
export const MAX_SLEEP_MS = 5 * 60_000;

/**
 * Delay before retry number `attempt` (1-based): `base·2^(attempt-1)`, capped, then "equal jitter"
 * (between half and all of it), so many agents do not retry in step.
 */
export function backoffDelayMs(attempt: number, random: () => number, settings = DEFAULT_BACKOFF): number {
  const exp = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Dependencies of {@link runAgentLoop}. */
export interface AgentLoopDeps {
  core: AgentCore;
  log: AgentLog;
  now(): number;
  random(): number;
  /** Waits `ms`, or less when the agent is stopped or reloaded. */
  sleep(ms: number): Promise<void>;
  /** True once the loop should end. */
  stopped(): boolean;
  backoff?: BackoffSettings;
}

/** How the loop ended. */
export type AgentLoopEnd = { kind: 'stopped' } | { kind: 'fatal'; error: AgentFatalError };

function errorFacts(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown }).code;
  return {
    code: typeof code === 'string' ? code : 'TESSERA_AGENT_ERROR',
    message: err instanceof Error ? err.message : String(err),
  };
}

/**
 * Runs cycles until stopped or fatal.
 *
 * @returns how it ended
 */
export async function runAgentLoop(deps: AgentLoopDeps): Promise<AgentLoopEnd> {
  const { core, log } = deps;
  let lastCode: string | undefined;
  while (!deps.stopped()) {
    let delayMs: number;
    try {
      await core.cycle();
      if (core.state.status !== 'ok') {
        log({
          level: 'info',
          event: core.state.status === 'starting' ? 'agent.ready' : 'agent.recovered',
          message:
            core.state.status === 'starting'
              ? 'agent is running'
              : `agent recovered after ${core.state.consecutiveFailures} failed attempt(s)`,
        });
      }
      core.state.status = 'ok';
      core.state.consecutiveFailures = 0;
      lastCode = undefined;
      delayMs = Math.max(0, core.nextWakeAt() - deps.now());
    } catch (err) {
      if (err instanceof AgentFatalError) {
        markError(core, err, deps.now());
        core.state.status = 'fatal';
        log({ level: 'error', event: 'agent.fatal', message: err.message, fields: { code: err.code } });
        return { kind: 'fatal', error: err };
      }
      const facts = markError(core, err, deps.now());
      core.state.status = 'degraded';
      const attempt = ++core.state.consecutiveFailures;
      delayMs = backoffDelayMs(attempt, deps.random, deps.backoff);
      if (facts.code !== lastCode) {
        log({
          level: 'warn',
          event: isTransientError(err) ? 'server.unreachable' : 'agent.error',
          message: `${facts.message}; retrying with backoff`,
          fields: { code: facts.code, attempt, retryInMs: delayMs },
        });
      }
      lastCode = facts.code;
    }
    await deps.sleep(Math.min(delayMs, MAX_SLEEP_MS));
  }
  core.state.status = 'stopped';
  return { kind: 'stopped' };
}

function markError(core: AgentCore, err: unknown, nowMs: number): { code: string; message: string } {
  const facts = errorFacts(err);
  core.state.lastError = { ...facts, at: new Date(nowMs).toISOString() };
  return facts;
}

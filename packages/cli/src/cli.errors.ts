/**
 * CLI errors, exit codes and error rendering. Rendered errors show the server's code, message and
 * request id plus a hint; they never show a token or key.
 */

import type { TesseraApiError, TesseraError } from '@tessera/sdk';

/** Exit code for API errors and other failures. */
export const EXIT_FAILURE = 1;
/** Exit code for usage errors (bad flags, missing arguments). */
export const EXIT_USAGE = 2;

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  /** @param message - what is wrong (never a secret) */
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure detected by the CLI itself, with a stable code and an optional hint: exit code 1. */
export class CliError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  /**
   * @param code - stable code (`TESSERA_…`)
   * @param message - what went wrong (never a secret)
   * @param hint - what to do about it
   */
  constructor(code: string, message: string, hint?: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.hint = hint;
  }
}

/** Hints per server/SDK error code. `{url}` is replaced by the server URL. */
const HINTS: Record<string, string> = {
  TESSERA_UNAUTHENTICATED:
    'run `tessera auth …` and pass the token with --token, or store an access key with ' +
    '`tessera configure --access-id … --access-key …`',
  TESSERA_TOKEN_INVALID:
    'the session token is not valid: get a new one with `tessera auth …`, or drop --token',
  TESSERA_TOKEN_EXPIRED:
    'the session token has expired: get a new one with `tessera auth …`, or drop --token',
  TESSERA_TOKEN_REVOKED: 'the session token was revoked: authenticate again with `tessera auth …`',
  TESSERA_AUTH_FAILED:
    'check the access id and the access key or UID token; a UID token that was rotated, revoked or ' +
    'has expired no longer works',
  TESSERA_FORBIDDEN: 'this credential is not allowed to do that',
  TESSERA_NOT_FOUND:
    'check the name or id (`tessera list-items`, `tessera auth-method list`, `tessera identity list`)',
  TESSERA_ROUTE_NOT_FOUND: 'is {url} a Tessera server of a compatible version?',
  TESSERA_VALIDATION_FAILED: 'check the flags (`--help` shows them with examples)',
  TESSERA_UID_TTL_LIMIT: "the TTL is above the auth method's limit (see `tessera auth-method get --name …`)",
  TESSERA_UID_DEPTH_LIMIT: "the token tree is at its maximum depth (the auth method's --tree-length)",
  TESSERA_UID_ROTATION_DENIED: 'this token was created with deny-rotate',
  TESSERA_UID_INHERITANCE_DENIED:
    'the parent token was created with deny-inheritance: it cannot have children',
  TESSERA_ROTATION_CONFLICT:
    'another rotation of this token is in progress or has just been made: wait a second, read the current ' +
    'token again and retry',
  TESSERA_CONFLICT: 'something with that name already exists',
  TESSERA_ROLE_BUILTIN: 'tessera-admin is built in: create a role of your own (`tessera create-role`)',
  TESSERA_ROLE_CYCLE: 'that role already includes this one, directly or through others (`tessera get-role`)',
  TESSERA_LAST_ADMIN:
    'associate tessera-admin with another auth method first (`tessera assoc-role-am --role-name tessera-admin …`)',
  TESSERA_SECRET_NAME_INVALID:
    'item names are paths of letters, digits and . _ - / @ + = : (no empty, "." or ".." segments, no trailing /)',
  TESSERA_SECRET_VALUE_INVALID: 'a secret with --format json needs a value that parses as JSON',
  TESSERA_SECRET_TOO_LARGE: 'a secret value is at most 64 KiB (UTF-8)',
  TESSERA_SECRET_INTEGRITY:
    'the stored ciphertext failed its integrity check (altered or moved in the database): restore the item from a backup',
  TESSERA_RATE_LIMITED: 'too many requests: wait a little and retry',
  TESSERA_UNAVAILABLE: 'the server cannot commit right now (store or audit sink): check its logs',
  TESSERA_SEALED:
    'the server is sealed: key-share holders unseal it with `tessera unseal --url {url} --share-file FILE`',
  TESSERA_UNSEAL_SHARE_INVALID:
    "check the share for a typo, and that it is a share of this server's root key (`tessera unseal --url {url}` shows its key id)",
  TESSERA_UNSEAL_KEY_MISMATCH:
    'the shares given so far were discarded: each holder gives their share again (all from the same `tessera root-key split`)',
  TESSERA_AUDIT_UNAVAILABLE:
    'no audit sink of the server can write, so it refuses changes: check its audit sinks (file, syslog, webhook) and logs',
  TESSERA_STORAGE_FULL:
    "the server's disk is full, so it refuses changes (reads go on): free space under its data directory or database",
  TESSERA_NETWORK_ERROR:
    'is a Tessera server running at {url}? Start one with `tessera server`, or set --url / TESSERA_URL',
  TESSERA_TIMEOUT: 'the server at {url} did not answer in time',
  TESSERA_UID_PERSIST_FAILED:
    'the token file could not be written (directory permissions? disk full?). The old token in it can still ' +
    'finish this rotation: fix the cause and run the same command again, within the rotation grace period',
};

/** The hint for an error code, if any. */
export function hintFor(code: string, url: string): string | undefined {
  return HINTS[code]?.replaceAll('{url}', url);
}

/** Everything needed to print an error. */
export interface ErrorReport {
  code: string;
  message: string;
  requestId?: string;
  status?: number;
  hint?: string;
  exitCode: number;
}

function isSdkError(err: unknown): err is TesseraError {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    err.name.startsWith('Tessera')
  );
}

/** Turns any thrown value into an {@link ErrorReport}. */
export function toErrorReport(err: unknown, url: string): ErrorReport {
  if (err instanceof UsageError) return { code: 'TESSERA_USAGE', message: err.message, exitCode: EXIT_USAGE };
  if (err instanceof CliError) {
    const hint = err.hint ?? hintFor(err.code, url);
    return { code: err.code, message: err.message, ...(hint ? { hint } : {}), exitCode: EXIT_FAILURE };
  }
  if (isSdkError(err)) {
    const api = err as Partial<TesseraApiError>;
    const hint = hintFor(err.code, url);
    return {
      code: err.code,
      message: err.message,
      ...(typeof api.status === 'number' ? { status: api.status } : {}),
      ...(api.requestId ? { requestId: api.requestId } : {}),
      ...(hint ? { hint } : {}),
      exitCode: EXIT_FAILURE,
    };
  }
  // Unexpected: show only the message (Node file-system errors carry the path, never contents).
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'TESSERA_CLI_ERROR', message, exitCode: EXIT_FAILURE };
}

/** Renders a report for people (stderr). */
export function renderErrorText(report: ErrorReport, command: string | undefined): string {
  const lines = [`Error: ${report.message}`];
  const meta = [report.code !== 'TESSERA_USAGE' ? report.code : undefined, report.status?.toString()]
    .filter(Boolean)
    .join(', ');
  if (meta) lines[0] += ` [${meta}]`;
  if (report.requestId) lines.push(`Request id: ${report.requestId}`);
  if (report.hint) lines.push(`Hint: ${report.hint}`);
  if (report.exitCode === EXIT_USAGE)
    lines.push(`Run \`tessera ${command ? `${command} ` : ''}--help\` for usage.`);
  return `${lines.join('\n')}\n`;
}

/** Renders a report as JSON (stderr, for `--json`). */
export function renderErrorJson(report: ErrorReport): string {
  const { exitCode: _exit, ...error } = report;
  return `${JSON.stringify({ error })}\n`;
}

/**
 * An exit code chosen by a command itself (the agent's 2 for a dead UID token, `tessera run`'s child
 * exit code). The command has already said what happened; `main` only returns the code.
 */
export class CommandExit extends Error {
  readonly exitCode: number;

  /** @param exitCode - the process exit code */
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
    this.exitCode = exitCode;
  }
}

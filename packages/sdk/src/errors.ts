/**
 * Typed SDK errors. Each carries a stable `code`. Messages never contain a token, key or secret:
 * they come from the server's public message or from fixed SDK text.
 *
 * @packageDocumentation
 */

/** Base class of every error the SDK throws on purpose. */
export class TesseraError extends Error {
  /** Stable, machine-readable code (`TESSERA_…`). */
  readonly code: string;

  /**
   * @param code - stable code
   * @param message - public message (never a secret)
   * @param options - standard error options (`cause`)
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TesseraError';
    this.code = code;
  }
}

/** The server answered with a non-2xx status (or an unreadable 2xx body). */
export class TesseraApiError extends TesseraError {
  /** HTTP status code. */
  readonly status: number;
  /** Server request id, when the server sent one: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  /** The error's `details`, when the server sent some (e.g. the problems of a configuration file). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  /**
   * @param status - HTTP status
   * @param code - the server's error code (or an SDK code for unreadable answers)
   * @param message - the server's public message
   * @param requestId - the server's request id
   * @param details - the server's error details
   */
  constructor(
    status: number,
    code: string,
    message: string,
    requestId?: string,
    details?: Readonly<Record<string, unknown>>,
  ) {
    super(code, message);
    this.name = 'TesseraApiError';
    this.status = status;
    this.requestId = requestId;
    this.details = details;
  }
}

/** Codes of {@link TesseraNetworkError}. */
export type TesseraNetworkErrorCode = 'TESSERA_NETWORK_ERROR' | 'TESSERA_TIMEOUT';

/** The request never got an answer: connection failure, DNS failure, abort or timeout. */
export class TesseraNetworkError extends TesseraError {
  declare readonly code: TesseraNetworkErrorCode;

  /**
   * @param code - `TESSERA_NETWORK_ERROR` or `TESSERA_TIMEOUT`
   * @param message - description without secrets (method and path only)
   * @param cause - the underlying error
   */
  constructor(code: TesseraNetworkErrorCode, message: string, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'TesseraNetworkError';
  }
}

/** Codes of {@link TesseraTokenError}. */
export type TesseraTokenErrorCode = 'TESSERA_TOKEN_INVALID' | 'TESSERA_TOKEN_EXPIRED';

/** A session token failed local verification. */
export class TesseraTokenError extends TesseraError {
  declare readonly code: TesseraTokenErrorCode;

  /**
   * @param code - `TESSERA_TOKEN_INVALID` or `TESSERA_TOKEN_EXPIRED`
   * @param message - the reason (never the token)
   */
  constructor(code: TesseraTokenErrorCode, message: string) {
    super(code, message);
    this.name = 'TesseraTokenError';
  }
}

/** A rotated UID token could not be saved by the caller's {@link UidTokenStore}-like store. */
export class TesseraPersistError extends TesseraError {
  declare readonly code: 'TESSERA_UID_PERSIST_FAILED';

  /**
   * @param message - what could not be saved (never the token)
   * @param cause - the store's error
   */
  constructor(message: string, cause?: unknown) {
    super('TESSERA_UID_PERSIST_FAILED', message, { cause });
    this.name = 'TesseraPersistError';
  }
}

/**
 * True when `err` is a server 401 saying the presented session token is no longer good
 * (`TESSERA_TOKEN_INVALID`, `TESSERA_TOKEN_EXPIRED`, `TESSERA_TOKEN_REVOKED`, …).
 */
export function isSessionTokenRejection(err: unknown): err is TesseraApiError {
  return err instanceof TesseraApiError && err.status === 401 && err.code.startsWith('TESSERA_TOKEN_');
}

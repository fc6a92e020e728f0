import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, ErrorCodes, TesseraError, unavailable } from '../core/shared/errors.js';
import { classifyStoreFailure } from '../storage/store-errors.js';

/** The only place where error codes become HTTP statuses (DESIGN §4.4). */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  TESSERA_VALIDATION_FAILED: 400,
  TESSERA_UID_TTL_LIMIT: 400,
  TESSERA_UID_DEPTH_LIMIT: 400,
  TESSERA_SECRET_NAME_INVALID: 400,
  TESSERA_SECRET_VALUE_INVALID: 400,
  TESSERA_UNSEAL_SHARE_INVALID: 400,
  TESSERA_UNSEAL_KEY_MISMATCH: 400,
  TESSERA_AUTH_FAILED: 401,
  TESSERA_UNAUTHENTICATED: 401,
  TESSERA_TOKEN_INVALID: 401,
  TESSERA_TOKEN_EXPIRED: 401,
  TESSERA_TOKEN_REVOKED: 401,
  TESSERA_FORBIDDEN: 403,
  TESSERA_UID_ROTATION_DENIED: 403,
  TESSERA_UID_INHERITANCE_DENIED: 403,
  TESSERA_NOT_FOUND: 404,
  TESSERA_ROUTE_NOT_FOUND: 404,
  TESSERA_CONFLICT: 409,
  TESSERA_ROLE_BUILTIN: 409,
  TESSERA_ROLE_CYCLE: 409,
  TESSERA_LAST_ADMIN: 409,
  TESSERA_ROTATION_CONFLICT: 409,
  TESSERA_UID_CHILD_LIMIT: 409,
  TESSERA_PAYLOAD_TOO_LARGE: 413,
  TESSERA_SECRET_TOO_LARGE: 413,
  TESSERA_UNSUPPORTED_MEDIA_TYPE: 415,
  TESSERA_RATE_LIMITED: 429,
  TESSERA_LEASE_QUOTA: 429,
  TESSERA_PRODUCER_FAILED: 502,
  TESSERA_TARGET_REJECTED: 422,
  TESSERA_CSR_REFUSED: 400,
  TESSERA_CONFIG_INVALID: 400,
  TESSERA_CONFIG_PLAN_STALE: 409,
  TESSERA_CONFIG_DELETE_REFUSED: 409,
  TESSERA_INTERNAL: 500,
  TESSERA_SECRET_INTEGRITY: 500,
  TESSERA_UNAVAILABLE: 503,
  TESSERA_AUDIT_UNAVAILABLE: 503,
  TESSERA_STORAGE_FULL: 507,
  TESSERA_SEALED: 503,
  TESSERA_APPROVAL_SELF: 403,
  TESSERA_APPROVAL_NOT_APPROVER: 403,
  TESSERA_APPROVAL_CLOSED: 409,
  TESSERA_REVIEW_NOT_OWNER: 403,
  TESSERA_APPROVAL_REQUIRED: 403,
};

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string } | null;
  return (
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.code === '23505'
  );
}

/** Turns anything thrown into a TesseraError; unknown errors become a bare 500 with no detail. */
export function toTesseraError(error: unknown): TesseraError {
  const store = classifyStoreFailure(error);
  if (store === 'full')
    return new TesseraError(
      ErrorCodes.STORAGE_FULL,
      'The server cannot store this change: its storage is full. Reads go on; try again once space is freed.',
      { internalReason: 'storage_full', cause: error },
    );
  if (error instanceof TesseraError) return error;
  if (store === 'unavailable') return unavailable('store_unavailable', error);
  const fe = error as FastifyError;
  if (fe?.validation) {
    const first = fe.validation[0];
    const field =
      first?.instancePath || (first?.params as { missingProperty?: string })?.missingProperty || '';
    return new TesseraError(
      ErrorCodes.VALIDATION_FAILED,
      `Invalid request ${fe.validationContext ?? 'input'}: ${field ? `${field} ` : ''}${first?.message ?? 'is invalid'}.`,
      {
        details: { field: String(field).slice(0, 200), location: fe.validationContext ?? 'body' },
      },
    );
  }
  // PostgreSQL refuses a NUL byte or an unencodable character in text (SQLite stores it): bad input.
  const pgCode = (error as { code?: unknown } | null)?.code;
  if (pgCode === '22021' || pgCode === '22P05')
    return new TesseraError(
      ErrorCodes.VALIDATION_FAILED,
      'The request contains a character that is not allowed (NUL).',
    );
  if (isUniqueViolation(error))
    return new TesseraError(ErrorCodes.CONFLICT, 'A resource with this name or id already exists.');
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TesseraError(ErrorCodes.PAYLOAD_TOO_LARGE, 'The request body is too large.');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new TesseraError(ErrorCodes.VALIDATION_FAILED, 'The request URL is not valid.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TesseraError(
        ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
        'Send the request body as application/json.',
      );
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new TesseraError(
      ErrorCodes.VALIDATION_FAILED,
      'The request could not be read: send a valid JSON body.',
    );
  }
  return new TesseraError(ErrorCodes.INTERNAL, 'An internal error occurred; it has been logged.', {
    cause: error,
  });
}

/**
 * Maps anything thrown to a TesseraError and its status, and logs it: the internal reason for a
 * refusal, the cause for a failure. Protocol front doors render the result in their own format.
 */
export function classifyError(
  error: unknown,
  request: FastifyRequest,
): { error: TesseraError; status: number } {
  const e = toTesseraError(error);
  const status = STATUS_BY_CODE[e.code];
  if (status >= 500) {
    request.log.error({ err: e.cause ?? error, code: e.code, reason: e.internalReason }, 'request failed');
  } else {
    request.log.info({ code: e.code, reason: e.internalReason }, 'request refused');
  }
  return { error: e, status };
}

/** When a refused caller may try again: without a window of its own, a quota frees up in about this. */
const DEFAULT_RETRY_AFTER_SECONDS = 30;

/** A 503 (store or audit sink unavailable) or 507 is retried by clients after this: short, it heals. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/**
 * Every 429, 503 and 507 says when to come back (`Retry-After`, whole seconds, RFC 9110 §10.2.3):
 * a load balancer or client retries a 503 on another node (issue 19).
 */
export function setRetryAfter(reply: FastifyReply, e: TesseraError, status: number): void {
  if (status === 503 || status === 507) {
    reply.header('retry-after', String(e.code === ErrorCodes.SEALED ? 60 : UNAVAILABLE_RETRY_AFTER_SECONDS));
    return;
  }
  if (status !== 429) return;
  const seconds = e.details?.retryAfterSeconds;
  reply.header(
    'retry-after',
    String(typeof seconds === 'number' && seconds >= 1 ? Math.ceil(seconds) : DEFAULT_RETRY_AFTER_SECONDS),
  );
}

/** Fastify error handler: one JSON error shape, no stack traces, secrets never echoed. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { error: e, status } = classifyError(error, request);
  if (status === 401) reply.header('www-authenticate', `Bearer error="invalid_token"`);
  setRetryAfter(reply, e, status);
  return reply.status(status).send({
    error: {
      code: e.code,
      message: e.message,
      requestId: request.id,
      ...(e.details ? { details: e.details } : {}),
    },
  });
}

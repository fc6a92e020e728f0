/**
 * Typed errors with stable codes. Each error carries a public message (safe to show to any caller)
 * and an optional internal cause (for logs and audit only). HTTP status mapping lives in exactly
 * one place: `http/error-mapper.ts`.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: 'TESSERA_VALIDATION_FAILED',
  NOT_FOUND: 'TESSERA_NOT_FOUND',
  ROUTE_NOT_FOUND: 'TESSERA_ROUTE_NOT_FOUND',
  CONFLICT: 'TESSERA_CONFLICT',
  ROLE_BUILTIN: 'TESSERA_ROLE_BUILTIN',
  ROLE_CYCLE: 'TESSERA_ROLE_CYCLE',
  LAST_ADMIN: 'TESSERA_LAST_ADMIN',
  AUTH_FAILED: 'TESSERA_AUTH_FAILED',
  UNAUTHENTICATED: 'TESSERA_UNAUTHENTICATED',
  TOKEN_INVALID: 'TESSERA_TOKEN_INVALID',
  TOKEN_EXPIRED: 'TESSERA_TOKEN_EXPIRED',
  TOKEN_REVOKED: 'TESSERA_TOKEN_REVOKED',
  FORBIDDEN: 'TESSERA_FORBIDDEN',
  UID_ROTATION_DENIED: 'TESSERA_UID_ROTATION_DENIED',
  UID_INHERITANCE_DENIED: 'TESSERA_UID_INHERITANCE_DENIED',
  UID_TTL_LIMIT: 'TESSERA_UID_TTL_LIMIT',
  UID_DEPTH_LIMIT: 'TESSERA_UID_DEPTH_LIMIT',
  /** A UID node already has as many live children as its method allows. */
  UID_CHILD_LIMIT: 'TESSERA_UID_CHILD_LIMIT',
  ROTATION_CONFLICT: 'TESSERA_ROTATION_CONFLICT',
  RATE_LIMITED: 'TESSERA_RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'TESSERA_PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'TESSERA_UNSUPPORTED_MEDIA_TYPE',
  UNAVAILABLE: 'TESSERA_UNAVAILABLE',
  AUDIT_UNAVAILABLE: 'TESSERA_AUDIT_UNAVAILABLE',
  /** The disk under the store is full: writes are refused until space returns; reads go on. */
  STORAGE_FULL: 'TESSERA_STORAGE_FULL',
  INTERNAL: 'TESSERA_INTERNAL',
  SECRET_NAME_INVALID: 'TESSERA_SECRET_NAME_INVALID',
  SECRET_VALUE_INVALID: 'TESSERA_SECRET_VALUE_INVALID',
  SECRET_TOO_LARGE: 'TESSERA_SECRET_TOO_LARGE',
  /** A stored ciphertext failed authentication (tampered or swapped rows): never a caller's fault. */
  SECRET_INTEGRITY: 'TESSERA_SECRET_INTEGRITY',
  /** An identity holds as many live leases of a dynamic secret as its quota allows (issue 6). */
  LEASE_QUOTA: 'TESSERA_LEASE_QUOTA',
  /** A dynamic secret's target (database, Redis…) refused or failed an operation. */
  PRODUCER_FAILED: 'TESSERA_PRODUCER_FAILED',
  /** The server is sealed: it waits for root-key shares (ADR 0012). */
  SEALED: 'TESSERA_SEALED',
  /** A key share that is malformed, fails its checksum, belongs to another key or was already given. */
  UNSEAL_SHARE_INVALID: 'TESSERA_UNSEAL_SHARE_INVALID',
  /** The shares combined into a key that does not open the store: unseal progress is reset. */
  UNSEAL_KEY_MISMATCH: 'TESSERA_UNSEAL_KEY_MISMATCH',
  /**
   * A dynamic or rotated secret's target refused the settings given at creation (wrong admin
   * password, unreachable host, missing privilege, missing database): `details.reason` says which.
   */
  TARGET_REJECTED: 'TESSERA_TARGET_REJECTED',
  /** Identity-as-code files with problems (`details.problems`: file, line, column, message); nothing applied. */
  CONFIG_INVALID: 'TESSERA_CONFIG_INVALID',
  /** The reviewed plan's hash no longer matches what applying the files would do now. */
  CONFIG_PLAN_STALE: 'TESSERA_CONFIG_PLAN_STALE',
  /** The plan deletes objects and the apply did not allow deletions. */
  CONFIG_DELETE_REFUSED: 'TESSERA_CONFIG_DELETE_REFUSED',
  /** An approver tried to decide their own approval request (issue 14): `details.reason` is `approval_self`. */
  APPROVAL_SELF: 'TESSERA_APPROVAL_SELF',
  /** The caller is not among the request's approvers (not its owner, not in its group, not an admin). */
  APPROVAL_NOT_APPROVER: 'TESSERA_APPROVAL_NOT_APPROVER',
  /** The request is no longer pending (decided, expired, used), or the caller has already decided it. */
  APPROVAL_CLOSED: 'TESSERA_APPROVAL_CLOSED',
  /** Only the identity's owner (the person, a member of the group) or an administrator certifies its access-review item. */
  REVIEW_NOT_OWNER: 'TESSERA_REVIEW_NOT_OWNER',
  /**
   * The secret is approval-required and the caller holds no approved, unused grant for exactly this
   * read (`details.action` is what to request with `POST /v1/approvals`; `details.reason` says why).
   */
  APPROVAL_REQUIRED: 'TESSERA_APPROVAL_REQUIRED',
  /**
   * A certificate signing request the CA will not sign: malformed, badly signed, a key type or a
   * name its profile does not allow (`details.reason` says which).
   */
  CSR_REFUSED: 'TESSERA_CSR_REFUSED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error Tessera raises on purpose. */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  /** Internal detail for logs and audit; never sent to the caller. */
  readonly internalReason: string | undefined;
  /** Extra public fields (e.g. which field failed validation). Must never hold secrets. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    publicMessage: string,
    opts: { internalReason?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(publicMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.internalReason = opts.internalReason;
    this.details = opts.details;
  }
}

export const validationError = (message: string, details?: Record<string, unknown>) =>
  new TesseraError(ErrorCodes.VALIDATION_FAILED, message, details ? { details } : {});

/**
 * Too many failed authentications from one source; `retryAfterSeconds` (until its window ends) is
 * the response's `Retry-After` (RFC 9110 §10.2.3) and a public detail.
 */
export const rateLimited = (retryAfterSeconds: number) =>
  new TesseraError(ErrorCodes.RATE_LIMITED, 'Too many failed authentications; try again later.', {
    internalReason: 'too_many_failures',
    details: { retryAfterSeconds },
  });

export const notFound = (what: string) => new TesseraError(ErrorCodes.NOT_FOUND, `${what} was not found.`);

export const conflict = (message: string) => new TesseraError(ErrorCodes.CONFLICT, message);

export const forbidden = (internalReason: string) =>
  new TesseraError(ErrorCodes.FORBIDDEN, 'You do not have permission to perform this action.', {
    internalReason,
  });

/**
 * Every failed credential presentation looks the same on the wire (DESIGN §4.4); the precise
 * reason is kept for audit only.
 */
export const authFailed = (internalReason: string) =>
  new TesseraError(ErrorCodes.AUTH_FAILED, 'Authentication failed: the credential is not valid.', {
    internalReason,
  });

export const unavailable = (internalReason: string, cause?: unknown) =>
  new TesseraError(ErrorCodes.UNAVAILABLE, 'The service cannot record this request right now; try again.', {
    internalReason,
    cause,
  });

import { ErrorCodes, TesseraError } from '../shared/errors.js';
import { AccountDisabledError, TargetError } from './producer.port.js';

export const leaseQuotaExceeded = (quota: number) =>
  new TesseraError(
    ErrorCodes.LEASE_QUOTA,
    `This identity already holds ${quota} live leases of this dynamic secret; revoke one or wait for one to expire.`,
    { details: { quota } },
  );

/** The target failed: the public message never quotes the driver's (it may echo statements). */
export const producerFailed = (internalReason: string) =>
  new TesseraError(ErrorCodes.PRODUCER_FAILED, 'The dynamic secret target refused or failed the operation.', {
    internalReason,
  });

/** The stable reason and safe message of a producer's failure (classified by the producer). */
function failureOf(error: unknown): { reason: string; message: string; accountDisabled: boolean } {
  if (error instanceof AccountDisabledError)
    return { reason: error.failure.reason, message: error.failure.message, accountDisabled: true };
  if (error instanceof TargetError)
    return { reason: error.reason, message: error.message, accountDisabled: false };
  return { reason: 'target_error', message: 'the target failed the operation', accountDisabled: false };
}

/**
 * A target failure while using an item (issue 10): 502 `TESSERA_PRODUCER_FAILED` with a stable
 * `details.reason` (authentication_failed, permission_denied, unreachable, timeout,
 * database_not_found, account_missing, target_error) and a safe reason in the message.
 */
export function targetFailed(operation: string, error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  const f = failureOf(error);
  const suffix = f.accountDisabled
    ? ' The credential was disabled and its sessions ended; removing the account will be retried.'
    : '';
  return new TesseraError(
    ErrorCodes.PRODUCER_FAILED,
    `The target failed to ${operation}: ${f.message}.${suffix}`,
    {
      internalReason: `${operation}: ${describeFailure(error)}`,
      details: { reason: f.reason, ...(f.accountDisabled ? { accountDisabled: true } : {}) },
    },
  );
}

/** The target refused the settings given at creation: 422 `TESSERA_TARGET_REJECTED`, same reasons. */
export function targetRejected(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  const f = failureOf(error);
  return new TesseraError(ErrorCodes.TARGET_REJECTED, `The target refused the settings: ${f.message}.`, {
    internalReason: describeFailure(error),
    details: { reason: f.reason },
  });
}

export const dynamicSecretNotFound = () =>
  new TesseraError(ErrorCodes.NOT_FOUND, 'The dynamic secret was not found.');
export const leaseNotFound = () => new TesseraError(ErrorCodes.NOT_FOUND, 'The lease was not found.');

export const dynamicSecretHasLeases = (live: number) =>
  new TesseraError(
    ErrorCodes.CONFLICT,
    `The dynamic secret has ${live} live leases; revoke them first (or delete with revokeLeases=true).`,
    { details: { liveLeases: live } },
  );

/** Driver messages can quote statements (hence passwords): keep only a short, scrubbed first line. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split('\n')[0]!
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 300);
}

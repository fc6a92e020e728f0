import { ErrorCodes, TesseraError } from '../shared/errors.js';

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

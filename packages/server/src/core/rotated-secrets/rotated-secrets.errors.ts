import { ErrorCodes, TesseraError } from '../shared/errors.js';

export const rotatedSecretNotFound = (name: string) =>
  new TesseraError(ErrorCodes.NOT_FOUND, `The rotated secret ${name} was not found.`, { details: { name } });

export const rotatedSecretExists = () =>
  new TesseraError(ErrorCodes.CONFLICT, 'An item with this name already exists.');

/** A rotation is under way (another request or server), or the previous one's grace period runs. */
export const rotationBusy = (message: string, retryAfterSeconds: number) =>
  new TesseraError(ErrorCodes.CONFLICT, message, { details: { retryAfterSeconds } });

/**
 * The target refused or could not be reached; the last good credential is kept. `targetReason`: the
 * stable reason the producer classified (authentication_failed, permission_denied, unreachable…).
 */
export const rotationFailed = (reason: string, targetReason = 'target_error') =>
  new TesseraError(
    ErrorCodes.UNAVAILABLE,
    'The rotation failed; the last good credential is kept and the rotation will be retried.',
    { internalReason: reason, details: { reason: targetReason } },
  );

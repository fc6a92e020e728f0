import { ErrorCodes, TesseraError } from '../shared/errors.js';

export const tokenInvalid = (internalReason: string) =>
  new TesseraError(ErrorCodes.TOKEN_INVALID, 'The session token is not valid.', { internalReason });

export const tokenExpired = () =>
  new TesseraError(ErrorCodes.TOKEN_EXPIRED, 'The session token has expired; authenticate again.', {
    internalReason: 'expired',
  });

export const tokenRevoked = (internalReason: string) =>
  new TesseraError(ErrorCodes.TOKEN_REVOKED, 'The session token has been revoked.', { internalReason });

export const unauthenticated = () =>
  new TesseraError(
    ErrorCodes.UNAUTHENTICATED,
    'This request needs a credential: send "Authorization: Bearer <token>".',
  );

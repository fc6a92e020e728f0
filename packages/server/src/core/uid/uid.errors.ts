import { ErrorCodes, TesseraError } from '../shared/errors.js';

export const rotationDenied = () =>
  new TesseraError(ErrorCodes.UID_ROTATION_DENIED, 'This token may not be rotated (deny-rotate).');

export const inheritanceDenied = () =>
  new TesseraError(
    ErrorCodes.UID_INHERITANCE_DENIED,
    'This token may not create child tokens (deny-inheritance).',
  );

export const ttlLimit = (limitSeconds: number) =>
  new TesseraError(
    ErrorCodes.UID_TTL_LIMIT,
    `The child TTL exceeds the auth method's child TTL limit of ${limitSeconds} seconds.`,
    { details: { childTtlLimitSeconds: limitSeconds } },
  );

export const depthLimit = (treeLength: number) =>
  new TesseraError(ErrorCodes.UID_DEPTH_LIMIT, `The token tree may be at most ${treeLength} levels deep.`, {
    details: { treeLength },
  });

export const rotationConflict = () =>
  new TesseraError(
    ErrorCodes.ROTATION_CONFLICT,
    'Another rotation of this token is in progress; retry in a second with the same token.',
  );

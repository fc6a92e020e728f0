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

export const childLimit = (childCountLimit: number) =>
  new TesseraError(
    ErrorCodes.UID_CHILD_LIMIT,
    `This token already has ${childCountLimit} live child tokens, the auth method's limit; revoke some first.`,
    { details: { childCountLimit } },
  );

export const rotationConflict = () =>
  new TesseraError(
    ErrorCodes.ROTATION_CONFLICT,
    'Another rotation of this token is in progress; retry in a second with the same token.',
  );

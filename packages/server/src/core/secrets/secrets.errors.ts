import { ErrorCodes, TesseraError } from '../shared/errors.js';

/** A name that is not a valid item name (the message says which rule it breaks; names are not secret). */
export const secretNameInvalid = (message: string) =>
  new TesseraError(ErrorCodes.SECRET_NAME_INVALID, `${message}.`, { details: { field: 'name' } });

/**
 * A value that does not match its format. The message never quotes the value, nor the parser's own
 * message (V8's JSON errors quote the input).
 */
export const secretValueInvalid = (message: string) =>
  new TesseraError(ErrorCodes.SECRET_VALUE_INVALID, message, { details: { field: 'value' } });

export const secretTooLarge = (sizeBytes: number, maxBytes: number) =>
  new TesseraError(
    ErrorCodes.SECRET_TOO_LARGE,
    `The secret value is ${sizeBytes} bytes; at most ${maxBytes} bytes (UTF-8) are allowed.`,
    { details: { field: 'value', sizeBytes, maxBytes } },
  );

/** Names are not secret: a multi-name read says which one is missing. */
export const secretNotFound = (name?: string) =>
  new TesseraError(
    ErrorCodes.NOT_FOUND,
    name ? `The item ${name} was not found.` : 'The item was not found.',
    name ? { details: { name } } : {},
  );

export const secretVersionNotFound = (version: number) =>
  new TesseraError(ErrorCodes.NOT_FOUND, `Version ${version} of the item was not found.`, {
    details: { version },
  });

export const secretExists = (deleted: boolean) =>
  new TesseraError(
    ErrorCodes.CONFLICT,
    deleted
      ? 'An item with this name is deleted but can still be restored; restore it, or delete it immediately to reuse the name.'
      : 'An item with this name already exists.',
  );

export const secretVersionConflict = (expected: number, latest: number) =>
  new TesseraError(
    ErrorCodes.CONFLICT,
    `The item's latest version is ${latest}, not ${expected}: it was changed meanwhile.`,
    { details: { latestVersion: latest } },
  );

export const secretNotDeleted = () =>
  new TesseraError(ErrorCodes.CONFLICT, 'The item is not deleted: there is nothing to restore.');

/**
 * A ciphertext or wrapped key failed authentication: the row was altered or moved. The cause stays
 * internal (it names keys and rows, never values).
 */
export const secretIntegrity = (internalReason: string) =>
  new TesseraError(
    ErrorCodes.SECRET_INTEGRITY,
    'The stored secret could not be decrypted: its ciphertext failed an integrity check.',
    { internalReason },
  );

import { ErrorCodes, notFound, TesseraError, validationError } from '../shared/errors.js';
import { ADMIN_ROLE_NAME } from './roles.model.js';

/** Errors of the roles service, with stable codes (mapped to HTTP in `http/error-mapper.ts`). */

export const roleNotFound = () => notFound('The role');

export const ruleNotFound = () => notFound('The rule');

export const associationNotFound = () => notFound('The association');

export const inclusionNotFound = () => notFound('The inclusion');

export const roleExists = () =>
  new TesseraError(ErrorCodes.CONFLICT, 'A role with this name already exists.');

/** 409: the built-in administrator role is fixed (its rules, inclusions and existence). */
export const builtinRole = () =>
  new TesseraError(
    ErrorCodes.ROLE_BUILTIN,
    `The built-in role ${ADMIN_ROLE_NAME} cannot be changed or deleted; create a role of your own.`,
  );

/** 409: including the role would make a role include itself. */
export const roleCycle = (role: string, included: string) =>
  new TesseraError(
    ErrorCodes.ROLE_CYCLE,
    'Including this role would create a cycle: it already includes the role, directly or through others.',
    { details: { role: role.slice(0, 200), included: included.slice(0, 200) } },
  );

/** 409: deleting this would leave no auth method associated with the administrator role. */
export const lastAdmin = () =>
  new TesseraError(
    ErrorCodes.LAST_ADMIN,
    `This is the last association granting ${ADMIN_ROLE_NAME}; associate the role with another auth method first.`,
  );

export const roleIncluded = (by: string[]) =>
  new TesseraError(ErrorCodes.CONFLICT, 'The role is included by other roles; remove it from them first.', {
    details: { includedBy: by.slice(0, 20) },
  });

export const associationExists = () =>
  new TesseraError(
    ErrorCodes.CONFLICT,
    'The role is already associated with this auth method with these claims.',
  );

export const invalidRule = (message: string) => validationError(message);

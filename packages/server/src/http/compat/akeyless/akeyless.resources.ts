import type { FastifyRequest } from 'fastify';
import {
  authMethodResource,
  itemResource,
  roleResource,
  UID_ACTIONS,
} from '../../../core/access/access.resources.js';
import { normaliseFolder, normaliseSecretName } from '../../../core/secrets/secrets.names.js';
import { validationError } from '../../../core/shared/errors.js';
import { Name } from '../../../core/shared/schemas.js';

/**
 * The policy resources of Akeyless commands come from the builders the native routes use
 * (core/access/access.resources.ts), so one role grants the same things through either front door.
 */

/** A string key of the command body ('' when absent: the resource is then every object of the kind). */
export function bodyKey(request: FastifyRequest, key: string): string {
  const value = (request.body as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : '';
}

const NAME = new RegExp(Name.pattern!);

/**
 * Names are validated with the native rules before they become resources: the resource is computed
 * in the authorization step, so a bad name is the Akeyless-shaped 400 before any access decision or
 * audit event (issue 10) — never a decision about a name no native route would accept. An empty
 * name or `*` stands for every object of the kind.
 */
function checkedName(name: string, what: string): string {
  if (name === '' || name === '*') return name;
  if (name.length > Name.maxLength! || !NAME.test(name))
    throw validationError(`Invalid ${what} name: ${Name.description}`, { field: what });
  return name;
}

/** An item name in its canonical form (`TESSERA_SECRET_NAME_INVALID` otherwise), as `/v1/secrets` has it. */
function checkedItemName(name: string): string {
  return name === '' || name === '*' ? name : normaliseSecretName(name);
}

export const authMethod = (name: string) => authMethodResource(checkedName(name, 'auth method'));
export const item = (name: string) => itemResource(checkedItemName(name));
export const role = (name: string) => roleResource(checkedName(name, 'role'));
/** The folder a listing covers (`''` is every item), checked with the native folder rules. */
export const folder = (path: string) => {
  if (path !== '') normaliseFolder(path);
  return itemResource(path || '*');
};

export const authMethodNamed = (key: string) => (request: FastifyRequest) =>
  authMethod(bodyKey(request, key));
export const itemNamed = (key: string) => (request: FastifyRequest) => item(bodyKey(request, key));
export const roleNamed = (key: string) => (request: FastifyRequest) => role(bodyKey(request, key));

export { UID_ACTIONS };

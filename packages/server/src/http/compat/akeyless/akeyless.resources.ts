import type { FastifyRequest } from 'fastify';
import {
  authMethodResource,
  itemResource,
  roleResource,
  UID_ACTIONS,
} from '../../../core/access/access.resources.js';

/**
 * The policy resources of Akeyless commands come from the builders the native routes use
 * (core/access/access.resources.ts), so one role grants the same things through either front door.
 */

/** A string key of the command body ('' when absent: the resource is then every object of the kind). */
export function bodyKey(request: FastifyRequest, key: string): string {
  const value = (request.body as Record<string, unknown> | null)?.[key];
  return typeof value === 'string' ? value : '';
}

export const authMethod = (name: string) => authMethodResource(name);
export const item = (name: string) => itemResource(name);
export const role = (name: string) => roleResource(name);

export const authMethodNamed = (key: string) => (request: FastifyRequest) =>
  authMethod(bodyKey(request, key));
export const itemNamed = (key: string) => (request: FastifyRequest) => item(bodyKey(request, key));
export const roleNamed = (key: string) => (request: FastifyRequest) => role(bodyKey(request, key));

export { UID_ACTIONS };

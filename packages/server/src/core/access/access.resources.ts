/**
 * The policy resource of each kind of object, shared by the native routes and the Akeyless layer so
 * one role grants the same things through either front door (ADR 0008): the type names the kind,
 * the path is the object's name with one leading slash.
 */

import { namePath } from '../roles/roles.model.js';
import type { Action, Resource, ResourceType } from './access.policy.js';

/** The resource of the object `name` of kind `type`; `*` (or an empty name) stands for all of them. */
export const named = (type: ResourceType, name: string | null | undefined): Resource => ({
  type,
  path: name && name !== '*' ? namePath(name) : '/*',
});

export const identityResource = (name: string | null | undefined) => named('identity', name);
export const authMethodResource = (name: string | null | undefined) => named('auth-method', name);
export const roleResource = (name: string | null | undefined) => named('role', name);
export const itemResource = (name: string | null | undefined) => named('item', name);

/** Every object of a kind (what a listing of all of them needs). */
export const allOf = (type: ResourceType): Resource => ({ type, path: '/*' });

/**
 * Universal Identity operations act on their auth method (Akeyless has no UID rule type): what an
 * administrator needs on `auth-method:/<method name>` for each. A holder acting on its own subtree
 * with its `u-` token (or a session from it) needs no rule.
 */
export const UID_ACTIONS = {
  /** `uid-generate-token`: a new root token (the method's token tree changes). */
  generate: 'update',
  /** `uid-create-child-token` by an administrator naming the parent. */
  createChild: 'update',
  /** `uid-revoke-token` by an administrator. */
  revoke: 'update',
  /** `uid-list-children` of a tree by an administrator. */
  listTree: 'read',
} as const satisfies Record<string, Action>;

/** The audit ledger's objects: `/events` (query), `/hash`, `/ledger` (verify, archive), `/metrics`. */
export const auditResource = (name: 'events' | 'hash' | 'ledger' | 'metrics'): Resource => ({
  type: 'audit',
  path: `/${name}`,
});

/**
 * Roles: named sets of rules, associated with auth methods (optionally narrowed by claims) and
 * able to include other roles. ADR 0008.
 */
import type { ClaimFilter } from '../access/access.claims.js';
import {
  CAPABILITIES,
  type Capability,
  RULE_TYPES,
  type Rule,
  type RuleType,
} from '../access/access.policy.js';

/** The built-in administrator role: rule type `*`, path `*`, every capability; not editable. */
export const ADMIN_ROLE_NAME = 'tessera-admin';
export const ADMIN_ROLE_ID = 'rl-builtin-admin';

export interface Role {
  id: string;
  name: string;
  description: string | null;
  /** Built-in roles cannot be changed or deleted. */
  builtin: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

/** A rule of a role; unique per (role, rule type, path). */
export interface RoleRule extends Rule {
  roleId: string;
  createdAtMs: number;
  updatedAtMs: number;
}

/** A role associated with an auth method, for the principals whose claims match `claims`. */
export interface RoleAssociation {
  /** `ra-…` */
  id: string;
  roleId: string;
  roleName: string;
  authMethodId: string;
  authMethodName: string;
  claims: ClaimFilter;
  createdAtMs: number;
}

/** A role with everything `get-role` shows. */
export interface RoleDetails extends Role {
  rules: RoleRule[];
  /** Names of the roles this one includes (directly). */
  includes: string[];
  associations: RoleAssociation[];
}

/** One line of a role listing. */
export interface RoleSummary extends Role {
  ruleCount: number;
  associationCount: number;
}

const ROLE_NAME = /^\/?[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Role names are path-like names (as the native API's `Name`): checked here for every front door. */
export const isValidRoleName = (name: string): boolean => name.length <= 200 && ROLE_NAME.test(name);

/** The policy path of a named object: its name with one leading slash. */
export const namePath = (name: string): string => (name.startsWith('/') ? name : `/${name}`);

/**
 * Rule types as the native API and the Akeyless API spell them (`item-rule` → `item`). Unknown or
 * unsupported Akeyless types (`target-rule`, `sra-rule`…) are null.
 */
export function ruleTypeFromWire(value: string): RuleType | null {
  const word = value.endsWith('-rule') ? value.slice(0, -'-rule'.length) : value;
  if (word === '*') return value === '*' ? '*' : null;
  return (RULE_TYPES as readonly string[]).includes(word) ? (word as RuleType) : null;
}

/** The Akeyless spelling of a rule type (`item` → `item-rule`); `*` stays `*`. */
export const ruleTypeToAkeyless = (type: RuleType): string => (type === '*' ? '*' : `${type}-rule`);

export const MAX_RULE_PATH_LENGTH = 512;
const RULE_PATH = /^[A-Za-z0-9/*+._@:=~-]+$/;

/**
 * A rule path as stored: `*`, or a path with a leading slash (Akeyless accepts `foo/*` for `/foo/*`).
 * Returns null when the path has characters no name can hold, empty or `..` segments.
 */
export function normaliseRulePath(path: string): string | null {
  if (path.length === 0 || path.length > MAX_RULE_PATH_LENGTH || !RULE_PATH.test(path)) return null;
  if (path === '*') return path;
  const p = path.startsWith('/') ? path : `/${path}`;
  if (
    p
      .split('/')
      .slice(1, -1)
      .some((s) => s === '' || s === '..') ||
    p.endsWith('/..')
  )
    return null;
  return p;
}

/** Capabilities, deduplicated, in catalogue order; null when one is unknown or none is given. */
export function normaliseCapabilities(values: readonly string[]): Capability[] | null {
  if (values.length === 0) return null;
  if (values.some((v) => !(CAPABILITIES as readonly string[]).includes(v))) return null;
  return CAPABILITIES.filter((c) => values.includes(c));
}

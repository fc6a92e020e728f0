import type { Role, RoleAssociation, RoleRule, RoleSummary } from './roles.model.js';

/** Persistence of roles, their rules, inclusions and associations; implemented in storage/. */
export interface RoleRepo {
  insertRole(role: Role): Promise<void>;
  /** By name; `ops` and `/ops` are the same role (one policy path). */
  getRole(name: string): Promise<Role | null>;
  getRolesById(ids: readonly string[]): Promise<Role[]>;
  /** Ordered by policy path; `afterPath` is the exclusive lower bound of the page. */
  listRoles(limit: number, afterPath: string | null): Promise<RoleSummary[]>;
  /** Deletes the role with its rules, its associations and the inclusions it makes. */
  deleteRole(id: string): Promise<void>;
  touchRole(id: string, atMs: number): Promise<void>;

  listRules(roleIds: readonly string[]): Promise<RoleRule[]>;
  getRule(roleId: string, ruleType: string, path: string): Promise<RoleRule | null>;
  insertRule(rule: RoleRule): Promise<void>;
  updateRule(rule: RoleRule): Promise<void>;
  deleteRule(id: string): Promise<void>;

  /** Inclusion edges out of the given roles. */
  listIncludes(roleIds: readonly string[]): Promise<Array<{ roleId: string; includedId: string }>>;
  /** Ids of the roles that include `roleId`. */
  listIncludedBy(roleId: string): Promise<string[]>;
  insertInclude(roleId: string, includedId: string, atMs: number): Promise<void>;
  /** False when there was no such inclusion. */
  deleteInclude(roleId: string, includedId: string): Promise<boolean>;

  insertAssociation(association: RoleAssociation): Promise<void>;
  getAssociation(id: string): Promise<RoleAssociation | null>;
  /** Associations of a role or of an auth method (of existing auth methods only), oldest first. */
  listAssociations(by: { roleId: string } | { authMethodId: string }): Promise<RoleAssociation[]>;
  /** Associations of several roles at once (of existing auth methods only), oldest first per role. */
  listAssociationsOfRoles(roleIds: readonly string[]): Promise<RoleAssociation[]>;
  deleteAssociation(id: string): Promise<void>;
  /** When an auth method is deleted. Returns how many there were. */
  deleteAssociationsOfMethod(authMethodId: string): Promise<number>;

  /**
   * Tells other servers sharing the store that access data changed (PostgreSQL NOTIFY, delivered at
   * commit); nothing on SQLite, where one process owns the store.
   */
  announceChange(): Promise<void>;
}

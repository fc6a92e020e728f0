import type { Generated } from 'kysely';

/**
 * Table shapes, shared by both dialects. Times are integer milliseconds since the epoch and flags
 * are 0/1 integers, so one Kysely implementation serves SQLite and PostgreSQL alike.
 */
export interface Database {
  identities: IdentityTable;
  identity_tags: { identity_id: string; tag: string };
  auth_methods: AuthMethodTable;
  uid_nodes: UidNodeTable;
  uid_credentials: UidCredentialTable;
  revocations: RevocationTable;
  signing_keys: SigningKeyTable;
  audit_events: AuditEventTable;
  audit_head: { id: number; seq: number; hash: string };
  audit_anchors: AuditAnchorTable;
  secrets: SecretTable;
  secret_versions: SecretVersionTable;
  secret_keks: { version: number; sealed: string; created_at: number };
  root_sealed_keys: { name: string; sealed: string; updated_at: number };
  roles: RoleTable;
  role_rules: RoleRuleTable;
  role_inclusions: { role_id: string; included_id: string; created_at: number };
  role_associations: RoleAssociationTable;
  dynamic_secrets: DynamicSecretTable;
  leases: LeaseTable;
  rotated_secrets: RotatedSecretTable;
  /** One-time keys (`OneTimeKeys.consume`): remembered until `expires_at`. */
  one_time_keys: { key: string; expires_at: number };
}

/** A rotated secret (issue 6, ADR 0011): settings and current password sealed in `sealed`. */
export interface RotatedSecretTable {
  id: string;
  name: string;
  producer_type: string;
  strategy: string;
  usernames: string;
  current_index: number;
  version: number;
  interval_seconds: number | null;
  grace_seconds: number;
  rotated_at: number | null;
  next_rotation_at: number | null;
  retire_index: number | null;
  retire_at: number | null;
  failures: number;
  last_error: string | null;
  last_failure_at: number | null;
  next_attempt_at: number | null;
  claimed_until: number | null;
  row_version: number;
  sealed: string;
  wrapped_key: string;
  kek_version: number;
  created_at: number;
  updated_at: number;
  password_hash: string | null;
  previous_password_hash: string | null;
}

/** A dynamic secret (issue 6): its producer settings sealed like a secret value. */
export interface DynamicSecretTable {
  id: string;
  name: string;
  type: string;
  description: string | null;
  public_settings: string;
  sealed_settings: string;
  wrapped_key: string;
  kek_version: number;
  default_ttl_seconds: number;
  max_ttl_seconds: number;
  lease_quota: number;
  sweep_drop: number;
  created_at: number;
  updated_at: number;
}

/** One account minted on a dynamic secret's target. */
export interface LeaseTable {
  id: string;
  item_id: string;
  item_name: string;
  identity_id: string;
  username: string;
  state: string;
  created_at: number;
  expires_at: number;
  max_expires_at: number;
  next_attempt_at: number;
  attempts: number;
  last_error: string | null;
  revoked_at: number | null;
  /** The credential the lease was obtained through (migration 0007; null on older leases). */
  auth_method_id: string | null;
  uid_node_id: string | null;
  uid_node_path: string | null;
}

/** A signed anchor: events up to `seq` (from `from_seq`) were archived to `file` and pruned. */
export interface AuditAnchorTable {
  seq: number;
  hash: string;
  from_seq: number;
  at: number;
  kid: string;
  signature: string;
  file: string;
}

export interface IdentityTable {
  id: string;
  name: string;
  kind: string;
  owner: string;
  environment: string | null;
  description: string | null;
  state: string;
  created_at: number;
  updated_at: number;
  retired_at: number | null;
  last_used_at: number | null;
}

export interface AuthMethodTable {
  id: string;
  name: string;
  type: string;
  identity_id: string;
  settings: string;
  secret_hash: string | null;
  is_admin: number;
  bound_cidrs: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface UidNodeTable {
  id: string;
  method_id: string;
  identity_id: string;
  parent_id: string | null;
  path: string;
  depth: number;
  ttl_seconds: number;
  expires_at: number;
  deny_rotate: number;
  deny_inheritance: number;
  comment: string | null;
  created_at: number;
  last_rotated_at: number | null;
  rotation_seq: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  flagged_at: number | null;
  /** JSON `UidCreator` (migration 0007); null before it. */
  created_by: string | null;
}

export interface UidCredentialTable {
  hash: string;
  node_id: string;
  generation: number;
  state: string;
  manual_ack: number;
  grace_until: number | null;
  created_at: number;
  activated_at: number | null;
  superseded_at: number | null;
}

export interface RevocationTable {
  seq: Generated<number>;
  kind: string;
  subject: string;
  revoked_at: number;
  expires_at: number;
  reason: string;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_key_sealed: string;
  created_at: number;
  retired_at: number | null;
  remove_after: number | null;
}

export interface AuditEventTable {
  seq: number;
  id: string;
  at: number;
  type: string;
  outcome: string;
  actor: string;
  resource: string | null;
  reason: string | null;
  request_id: string | null;
  source_ip: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** A role; `path` is its name with one leading slash (unique: `ops` and `/ops` are one role). */
export interface RoleTable {
  id: string;
  name: string;
  path: string;
  description: string | null;
  builtin: number;
  created_at: number;
  updated_at: number;
}

/** A rule of a role, unique per (role, rule type, path). `capabilities` and `conditions` are JSON. */
export interface RoleRuleTable {
  id: string;
  role_id: string;
  rule_type: string;
  path: string;
  capabilities: string;
  conditions: string | null;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

/** A role associated with an auth method; `claims` is the JSON claim filter (`{}`: everyone). */
export interface RoleAssociationTable {
  id: string;
  role_id: string;
  auth_method_id: string;
  claims: string;
  created_at: number;
}

/** A static secret: metadata and its data key wrapped by KEK `kek_version`; `tags` is a JSON array. */
export interface SecretTable {
  id: string;
  name: string;
  folder: string;
  format: string;
  description: string | null;
  tags: string;
  max_versions: number;
  latest_version: number;
  wrapped_key: string;
  kek_version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  purge_after: number | null;
  /** The approval policy as JSON (issue 14), null when reads need none. */
  approval: string | null;
}

/** One version of a secret: the value as AES-256-GCM ciphertext under the item's data key. */
export interface SecretVersionTable {
  secret_id: string;
  version: number;
  ciphertext: string;
  size_bytes: number;
  created_at: number;
}

/**
 * The claim vocabulary: what a role association's claim filter (Akeyless "sub-claims") and a rule's
 * claim condition can test about a principal. This is the one place the keys are defined; ADR 0008
 * documents them. Pure: the access service supplies the identity record and the session claims.
 */

/** Every claim key, with what it holds. */
export const CLAIMS = {
  'identity-id': 'The identity id (`i-…`, the session token `sub`).',
  'identity-name': 'The identity name.',
  kind: 'The identity kind (service, workload, ci-pipeline, ai-agent, mcp-server, device, other).',
  environment: 'The identity environment (e.g. prod); absent when the identity has none.',
  tag: 'Any one of the identity tags.',
  owner: 'The identity owner (the accountable human, e.g. an email).',
  'uid-subtree':
    'A UID node id: matches a principal whose session came from that node or from any node below it.',
} as const;

export type ClaimKey = keyof typeof CLAIMS;
export const CLAIM_KEYS = Object.keys(CLAIMS) as ClaimKey[];

/** True when `key` is in the vocabulary. */
export const isClaimKey = (key: string): key is ClaimKey => Object.hasOwn(CLAIMS, key);

/**
 * A claim filter: every key must match, and a key matches when the principal holds any one of its
 * values (exact, case-sensitive comparison). The empty filter matches every principal.
 */
export type ClaimFilter = Readonly<Partial<Record<ClaimKey, readonly string[]>>>;

/** A principal's claim values: one each, except `tag` and `uid-subtree` (every node on its path). */
export type PrincipalClaims = Readonly<Partial<Record<ClaimKey, readonly string[]>>>;

/** Claims that come from the identity record (the rest come from the session token itself). */
const IDENTITY_CLAIMS: ReadonlySet<ClaimKey> = new Set([
  'identity-name',
  'kind',
  'environment',
  'tag',
  'owner',
]);

/** True when evaluating `filter` needs the principal's identity record. */
export const needsIdentity = (filter: ClaimFilter | null | undefined): boolean =>
  !!filter && Object.keys(filter).some((k) => IDENTITY_CLAIMS.has(k as ClaimKey));

/** The identity fields claims are made of. */
export interface ClaimIdentity {
  name: string;
  kind: string;
  environment: string | null;
  tags: readonly string[];
  owner: string;
}

/**
 * The claims of a principal: the session token's (`sub`, `uid`, `uidp`) and, when given, its
 * identity record's. `uidNodePath` is the materialised path `/<root>/…/<node>/`.
 */
export function principalClaims(
  principal: { identityId: string; uidNodeId: string | null; uidNodePath: string | null },
  identity: ClaimIdentity | null,
): PrincipalClaims {
  const claims: Partial<Record<ClaimKey, readonly string[]>> = { 'identity-id': [principal.identityId] };
  const nodes = principal.uidNodePath
    ? principal.uidNodePath.split('/').filter((s) => s.length > 0)
    : principal.uidNodeId
      ? [principal.uidNodeId]
      : [];
  if (nodes.length > 0) claims['uid-subtree'] = nodes;
  if (identity) {
    claims['identity-name'] = [identity.name];
    claims.kind = [identity.kind];
    if (identity.environment !== null) claims.environment = [identity.environment];
    if (identity.tags.length > 0) claims.tag = identity.tags;
    if (identity.owner) claims.owner = [identity.owner];
  }
  return claims;
}

/** True when `claims` satisfy `filter` (every key; any value per key). */
export function claimsMatch(filter: ClaimFilter, claims: PrincipalClaims): boolean {
  for (const key in filter) {
    const wanted = filter[key as ClaimKey];
    if (!wanted) continue;
    const held = claims[key as ClaimKey];
    if (!held || !wanted.some((v) => held.includes(v))) return false;
  }
  return true;
}

/** True when the filter has no key (it matches everyone). */
export const isEmptyFilter = (filter: ClaimFilter): boolean => Object.keys(filter).length === 0;

export const MAX_CLAIM_VALUES = 50;
export const MAX_CLAIM_VALUE_LENGTH = 200;

/**
 * Checks and normalises a claim map from the wire: known keys only; a value is a string or a list
 * of strings (a single string is one value: commas are not split, names may hold them); values are
 * deduplicated and sorted so equal filters compare equal. Returns an error message when invalid.
 */
export function normaliseClaimFilter(
  input: Readonly<Record<string, string | readonly string[]>> | null | undefined,
): { filter: ClaimFilter } | { error: string } {
  const filter: Partial<Record<ClaimKey, readonly string[]>> = {};
  for (const [key, raw] of Object.entries(input ?? {})) {
    if (!isClaimKey(key)) {
      return { error: `Unknown claim "${key.slice(0, 40)}"; expected one of ${CLAIM_KEYS.join(', ')}.` };
    }
    const values = [...new Set(typeof raw === 'string' ? [raw] : raw)].sort();
    if (values.length === 0) return { error: `Claim "${key}" needs at least one value.` };
    if (values.length > MAX_CLAIM_VALUES)
      return { error: `Claim "${key}" has more than ${MAX_CLAIM_VALUES} values.` };
    if (values.some((v) => typeof v !== 'string' || v.length === 0 || v.length > MAX_CLAIM_VALUE_LENGTH)) {
      return { error: `Claim "${key}" values must be 1 to ${MAX_CLAIM_VALUE_LENGTH} characters.` };
    }
    filter[key] = values;
  }
  return { filter };
}

import type { ClaimMatcher } from '../../core/auth-methods/auth-methods.model.js';

/**
 * Bound claims and identity templates (issue 13): pure functions of a verified JWT payload.
 * A claim name is looked up as a key first (`job_workflow_ref`), then as a dotted path into nested
 * objects (`kubernetes.io.namespace` → `{"kubernetes.io": {"namespace": …}}`).
 */
export function claimValue(payload: Record<string, unknown>, name: string): string | null {
  const direct = scalar(payload[name]);
  if (direct !== null || Object.hasOwn(payload, name)) return direct;
  const parts = name.split('.');
  // Try every split so keys holding dots (`kubernetes.io`) are found.
  const walk = (node: unknown, from: number): string | null => {
    if (from === parts.length) return scalar(node);
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return null;
    for (let to = parts.length; to > from; to--) {
      const key = parts.slice(from, to).join('.');
      if (Object.hasOwn(node, key)) {
        const found = walk((node as Record<string, unknown>)[key], to);
        if (found !== null) return found;
      }
    }
    return null;
  };
  return walk(payload, 0);
}

function scalar(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** `*` matches any run of characters (including `/`); everything else is literal. */
export function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const parts = pattern.split('*');
  if (!value.startsWith(parts[0]!) || !value.endsWith(parts[parts.length - 1]!)) return false;
  let at = parts[0]!.length;
  const end = value.length - parts[parts.length - 1]!.length;
  if (end < at) return false;
  for (const part of parts.slice(1, -1)) {
    const found = value.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

export function matcherMatches(matcher: ClaimMatcher, value: string): boolean {
  return (Array.isArray(matcher) ? matcher : [matcher]).some((p) => globMatches(p, value));
}

/** Every bound claim must be present and match; returns the matched values or the first failure. */
export function checkBoundClaims(
  bound: Record<string, ClaimMatcher>,
  payload: Record<string, unknown>,
): { ok: true; matched: Record<string, string> } | { ok: false; claim: string; missing: boolean } {
  const matched: Record<string, string> = {};
  for (const [name, matcher] of Object.entries(bound)) {
    const value = claimValue(payload, name);
    if (value === null) return { ok: false, claim: name, missing: true };
    if (!matcherMatches(matcher, value)) return { ok: false, claim: name, missing: false };
    // Recorded in audit: bounded, whatever the issuer put in the claim.
    matched[name] = value.length > 300 ? `${value.slice(0, 300)}…` : value;
  }
  return { ok: true, matched };
}

const PLACEHOLDER = /\{([A-Za-z0-9_.:-]{1,100})\}/g;

/** The placeholders of a template (`ci/github/{repository}` → [`repository`]). */
export const templateClaims = (template: string): string[] =>
  [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);

/** Renders a template from claims; null when a claim is absent. The caller validates the name. */
export function renderTemplate(template: string, payload: Record<string, unknown>): string | null {
  let missing = false;
  const name = template.replace(PLACEHOLDER, (_all, claim: string) => {
    const value = claimValue(payload, claim);
    if (value === null) missing = true;
    return value ?? '';
  });
  return missing ? null : name;
}

/** Identity names (the `Name` schema): segments of letters, digits, `.`, `_`, `-`. */
export const IDENTITY_NAME = /^\/?[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** A SPIFFE trust domain name (SPIFFE ID spec §2.1): lower-case letters, digits, `.`, `-`, `_`. */
export const SPIFFE_TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SPIFFE_PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Whether `value` is a workload SPIFFE ID in `trustDomain` (SPIFFE ID spec §2): `spiffe://` + the
 * trust domain exactly + a non-empty path of non-empty segments, none `.` or `..`, no trailing `/`,
 * no query, fragment, port or user info. What a JWT-SVID's `sub` must be.
 */
export function isSpiffeIdIn(value: unknown, trustDomain: string): boolean {
  if (typeof value !== 'string' || value.length > 2048) return false;
  const prefix = `spiffe://${trustDomain}/`;
  if (!value.startsWith(prefix)) return false;
  const segments = value.slice(prefix.length).split('/');
  return segments.every((s) => SPIFFE_PATH_SEGMENT.test(s) && s !== '.' && s !== '..');
}

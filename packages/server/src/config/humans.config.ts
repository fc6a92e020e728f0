import { httpUrl, type Int } from './audit.config.js';

/** People, approvals and single sign-on (issue 14, ADR 0016). */
export interface HumansConfig {
  /** Where a new approval request is announced (Slack-compatible JSON), or null. */
  approvalWebhookUrl: string | null;
  /** How long a pending approval request waits for its decision, unless the request asks for less. */
  approvalTtlSeconds: number;
  /** How long an approved request's single-use grant may wait for its use. */
  approvalGrantTtlSeconds: number;
  /** The longest break-glass activation of a just-in-time role. */
  breakGlassMaxSeconds: number;
  /** OIDC single sign-on for people; null when not configured. */
  oidc: OidcLoginConfig | null;
}

export function loadHumansConfig(env: NodeJS.ProcessEnv, integer: Int, serverIssuer: string): HumansConfig {
  return {
    oidc: loadOidcLoginConfig(env, integer, serverIssuer),
    breakGlassMaxSeconds: integer(
      'TESSERA_JIT_BREAK_GLASS_MAX_SECONDS',
      env.TESSERA_JIT_BREAK_GLASS_MAX_SECONDS,
      900,
      60,
      4 * 3600,
    ),
    approvalWebhookUrl: httpUrl('TESSERA_APPROVAL_WEBHOOK_URL', env.TESSERA_APPROVAL_WEBHOOK_URL),
    approvalTtlSeconds: integer(
      'TESSERA_APPROVAL_TTL_SECONDS',
      env.TESSERA_APPROVAL_TTL_SECONDS,
      3600,
      60,
      7 * 86_400,
    ),
    approvalGrantTtlSeconds: integer(
      'TESSERA_APPROVAL_GRANT_TTL_SECONDS',
      env.TESSERA_APPROVAL_GRANT_TTL_SECONDS,
      300,
      10,
      86_400,
    ),
  };
}

/** Single sign-on of people against the organisation's OIDC identity provider (relying party). */
export interface OidcLoginConfig {
  issuer: string;
  clientId: string;
  /** Null for a public client (PKCE only). */
  clientSecret: string | null;
  /** Where the IdP sends the browser back: `<issuer>/v1/login/callback` by default. */
  redirectUri: string;
  /** Scopes asked for (`TESSERA_OIDC_SCOPES`, default `openid email profile groups`). */
  scopes: string;
  /** The ID-token claim holding the person's groups. */
  groupsClaim: string;
  /** IdP group → Tessera role names (`TESSERA_OIDC_ROLE_MAP="ops=operators,admins=admin"`). */
  roleMap: Readonly<Record<string, readonly string[]>>;
  /** How long a person's session lasts. */
  sessionTtlSeconds: number;
  /** Accept an `http:` issuer (a local IdP in development and tests). */
  allowHttp: boolean;
}

/** `group=role,group=role2,…` → group → roles. */
export function parseRoleMap(raw: string | undefined): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const item of (raw ?? '').split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const group = item.slice(0, eq).trim();
    const role = item.slice(eq + 1).trim();
    if (eq <= 0 || role === '')
      throw new Error('TESSERA_OIDC_ROLE_MAP takes group=role pairs, comma-separated');
    map[group] = [...(map[group] ?? []), role];
  }
  return map;
}

export function loadOidcLoginConfig(
  env: NodeJS.ProcessEnv,
  integer: Int,
  serverIssuer: string,
): OidcLoginConfig | null {
  const issuer = httpUrl('TESSERA_OIDC_ISSUER', env.TESSERA_OIDC_ISSUER);
  if (!issuer) return null;
  const clientId = env.TESSERA_OIDC_CLIENT_ID?.trim();
  if (!clientId) throw new Error('TESSERA_OIDC_CLIENT_ID is required with TESSERA_OIDC_ISSUER');
  return {
    issuer: env.TESSERA_OIDC_ISSUER!.trim(),
    clientId,
    clientSecret: env.TESSERA_OIDC_CLIENT_SECRET?.trim() || null,
    redirectUri:
      httpUrl('TESSERA_OIDC_REDIRECT_URI', env.TESSERA_OIDC_REDIRECT_URI) ??
      `${serverIssuer.replace(/\/+$/, '')}/v1/login/callback`,
    scopes: env.TESSERA_OIDC_SCOPES?.trim() || 'openid email profile groups',
    groupsClaim: env.TESSERA_OIDC_GROUPS_CLAIM?.trim() || 'groups',
    roleMap: parseRoleMap(env.TESSERA_OIDC_ROLE_MAP),
    sessionTtlSeconds: integer(
      'TESSERA_HUMAN_SESSION_TTL_SECONDS',
      env.TESSERA_HUMAN_SESSION_TTL_SECONDS,
      3600,
      60,
      12 * 3600,
    ),
    allowHttp: issuer.startsWith('http:'),
  };
}

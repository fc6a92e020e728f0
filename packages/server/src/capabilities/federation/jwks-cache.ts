import type { Clock } from '../../core/shared/platform.port.js';

/**
 * The JWKS of federated issuers (issue 13), fetched through OIDC discovery
 * (`<issuer>/.well-known/openid-configuration` → `jwks_uri`) and cached per issuer:
 * - fresh for `ttlMs`; after that, the next use refreshes it;
 * - a JWT naming a `kid` the cached set lacks triggers a refresh, at most once per
 *   `minRefreshIntervalMs` per issuer (an attacker's random kids cannot make Tessera hammer the issuer);
 * - when a refresh fails, the last good set keeps serving for at most `staleLimitMs` past its freshness.
 * An adapter: it does I/O, so it lives outside core and is called before any transaction.
 */
export interface JwksCacheOptions {
  ttlMs?: number;
  minRefreshIntervalMs?: number;
  staleLimitMs?: number;
  timeoutMs?: number;
  /** Most bytes of a discovery document or a key set. */
  maxBytes?: number;
  /** Why a fetched set is unusable, or null (crypto/federated-jwt.ts). */
  jwksProblem(jwks: unknown): string | null;
}

export type Jwks = { keys: Record<string, unknown>[] };

interface Entry {
  jwks: Jwks | null;
  fetchedAtMs: number;
  lastAttemptMs: number;
  inflight: Promise<void> | null;
}

export function createJwksCache(clock: Clock, options: JwksCacheOptions) {
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const minRefreshMs = options.minRefreshIntervalMs ?? 10_000;
  const staleLimitMs = options.staleLimitMs ?? 24 * 3600_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const entries = new Map<string, Entry>();
  let fetches = 0;

  async function getJson(url: string): Promise<unknown> {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    // Refuse a declared oversize body before reading it; a chunked one is checked once read.
    if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
      await response.body?.cancel();
      throw new Error('document too large');
    }
    const text = await response.text();
    if (text.length > maxBytes) throw new Error('document too large');
    return JSON.parse(text);
  }

  async function load(issuer: string, entry: Entry): Promise<void> {
    entry.lastAttemptMs = clock.nowMs();
    fetches++;
    try {
      const discovery = (await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as {
        issuer?: unknown;
        jwks_uri?: unknown;
      };
      // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
      if (discovery.issuer !== issuer || typeof discovery.jwks_uri !== 'string') return;
      const jwksUri = new URL(discovery.jwks_uri);
      if (!allowedUrl(jwksUri)) return;
      const jwks = await getJson(jwksUri.href);
      if (options.jwksProblem(jwks) !== null) return;
      entry.jwks = jwks as Jwks;
      entry.fetchedAtMs = clock.nowMs();
    } catch {
      // Kept stale (bounded below); the caller sees federation_jwks_unavailable when nothing is usable.
    }
  }

  function refresh(issuer: string, entry: Entry): Promise<void> {
    if (!entry.inflight)
      entry.inflight = load(issuer, entry).finally(() => {
        entry.inflight = null;
      });
    return entry.inflight;
  }

  return {
    /**
     * The key set to verify a JWT of `issuer` naming `kid` (null: none named), or null when no
     * usable set is known (never fetched successfully, or stale beyond the limit).
     */
    async keysFor(issuer: string, kid: string | null): Promise<Jwks | null> {
      let entry = entries.get(issuer);
      if (!entry) {
        if (entries.size >= 1000) entries.delete(entries.keys().next().value as string);
        entry = { jwks: null, fetchedAtMs: 0, lastAttemptMs: Number.NEGATIVE_INFINITY, inflight: null };
        entries.set(issuer, entry);
      }
      const now = clock.nowMs();
      const canRetry = now - entry.lastAttemptMs >= minRefreshMs;
      const expired = entry.jwks === null || now - entry.fetchedAtMs >= ttlMs;
      const unknownKid = kid !== null && entry.jwks !== null && !entry.jwks.keys.some((k) => k.kid === kid);
      if (entry.inflight) await entry.inflight;
      else if ((expired || unknownKid) && canRetry) await refresh(issuer, entry);
      if (!entry.jwks) return null;
      if (clock.nowMs() - entry.fetchedAtMs >= ttlMs + staleLimitMs) return null;
      return entry.jwks;
    },
    /** How many discovery + JWKS fetches were started (tests, metrics). */
    fetchCount: () => fetches,
  };
}

export type JwksCache = ReturnType<typeof createJwksCache>;

/** https, or http to a loopback address (a local test issuer). */
export function allowedUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

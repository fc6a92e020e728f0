import type { Clock } from '../../core/shared/platform.port.js';

/**
 * Remote JWK sets, cached: the JWKS of federated issuers (issue 13), fetched through OIDC discovery
 * (`<issuer>/.well-known/openid-configuration` → `jwks_uri`, `keysFor`), and the `jwks_uri` of OAuth
 * clients (issue 12, `keysAt`), fetched directly. Each source is cached on its own:
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
  /** Most bytes of a discovery document or a key set (counted as read: a chunked body too). */
  maxBytes?: number;
  /** Why a fetched set is unusable, or null (crypto/federated-jwt.ts). */
  jwksProblem(jwks: unknown): string | null;
  /** How to fetch (default: the global `fetch`; client-chosen URLs: the outbound guard). */
  fetch?: (
    url: string,
    init: { signal: AbortSignal; redirect: 'error'; headers: Record<string, string> },
  ) => Promise<Response>;
}

export type Jwks = { keys: Record<string, unknown>[] };

/**
 * Where a set comes from: an issuer's discovery document, a `jwks_uri` itself, or a SPIFFE bundle
 * endpoint (a JWK set whose `spiffe_refresh_hint` says how long it stays fresh).
 */
type Source = { issuer: string } | { jwksUri: string } | { bundleUri: string };

interface Entry {
  jwks: Jwks | null;
  fetchedAtMs: number;
  /** How long the set stays fresh (a bundle's refresh hint, bounded; else the cache's TTL). */
  freshMs: number;
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

  /**
   * A SPIFFE bundle's `spiffe_refresh_hint` (seconds; SPIFFE Trust Domain and Bundle §4.1.2), held
   * between the least refresh interval and the cache's TTL: a hint cannot make Tessera poll faster
   * than it allows anyone to, nor keep a set longer than any other. No hint: the TTL.
   */
  function refreshHintMs(bundle: unknown): number {
    const hint = (bundle as { spiffe_refresh_hint?: unknown }).spiffe_refresh_hint;
    if (typeof hint !== 'number' || !Number.isFinite(hint) || hint <= 0) return ttlMs;
    return Math.min(ttlMs, Math.max(minRefreshMs, hint * 1000));
  }

  async function getJson(url: string): Promise<unknown> {
    const response = await (options.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    // Refuse a declared oversize body before reading it; any other is counted as it streams in,
    // so a chunked body without an end cannot grow past the limit either.
    if (Number(response.headers.get('content-length') ?? 0) > maxBytes || !response.body) {
      await response.body?.cancel();
      throw new Error('document too large or empty');
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new Error('document too large');
      chunks.push(chunk);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  async function jwksUriOf(issuer: string): Promise<URL | null> {
    const discovery = (await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as {
      issuer?: unknown;
      jwks_uri?: unknown;
    };
    // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
    if (discovery.issuer !== issuer || typeof discovery.jwks_uri !== 'string') return null;
    return new URL(discovery.jwks_uri);
  }

  async function load(source: Source, entry: Entry): Promise<void> {
    entry.lastAttemptMs = clock.nowMs();
    fetches++;
    try {
      const jwksUri =
        'issuer' in source
          ? await jwksUriOf(source.issuer)
          : new URL('jwksUri' in source ? source.jwksUri : source.bundleUri);
      if (!jwksUri || !allowedUrl(jwksUri)) return;
      const jwks = await getJson(jwksUri.href);
      if (options.jwksProblem(jwks) !== null) return;
      entry.jwks = jwks as Jwks;
      entry.fetchedAtMs = clock.nowMs();
      entry.freshMs = 'bundleUri' in source ? refreshHintMs(jwks) : ttlMs;
    } catch {
      // Kept stale (bounded below); the caller sees federation_jwks_unavailable when nothing is usable.
    }
  }

  function refresh(source: Source, entry: Entry): Promise<void> {
    if (!entry.inflight)
      entry.inflight = load(source, entry).finally(() => {
        entry.inflight = null;
      });
    return entry.inflight;
  }

  async function keys(key: string, source: Source, kid: string | null, stale = false): Promise<Jwks | null> {
    let entry = entries.get(key);
    if (!entry) {
      if (entries.size >= 1000) entries.delete(entries.keys().next().value as string);
      entry = {
        jwks: null,
        fetchedAtMs: 0,
        freshMs: ttlMs,
        lastAttemptMs: Number.NEGATIVE_INFINITY,
        inflight: null,
      };
      entries.set(key, entry);
    }
    const now = clock.nowMs();
    const canRetry = now - entry.lastAttemptMs >= minRefreshMs;
    const expired = entry.jwks === null || now - entry.fetchedAtMs >= entry.freshMs;
    const unknownKid =
      stale || (kid !== null && entry.jwks !== null && !entry.jwks.keys.some((k) => k.kid === kid));
    if (entry.inflight) await entry.inflight;
    else if ((expired || unknownKid) && canRetry) await refresh(source, entry);
    if (!entry.jwks) return null;
    if (clock.nowMs() - entry.fetchedAtMs >= entry.freshMs + staleLimitMs) return null;
    return entry.jwks;
  }

  return {
    /**
     * The key set to verify a JWT of `issuer` naming `kid` (null: none named), or null when no
     * usable set is known (never fetched successfully, or stale beyond the limit).
     */
    keysFor: (issuer: string, kid: string | null) => keys(`iss:${issuer}`, { issuer }, kid),
    /**
     * The same for a key set published at `jwksUri` itself (an OAuth client's `jwks_uri`).
     * `stale`: the caller found the cached set does not verify a JWT without `kid` — refetch it as
     * for an unknown `kid` (same bound per interval).
     */
    keysAt: (jwksUri: string, kid: string | null, stale = false) =>
      keys(`uri:${jwksUri}`, { jwksUri }, kid, stale),
    /**
     * The same for a SPIFFE trust bundle served at a bundle endpoint (https_web profile): fresh for
     * its refresh hint (bounded), refetched on an unknown `kid`, stale within the same limit.
     */
    bundleAt: (bundleUri: string, kid: string | null) => keys(`bundle:${bundleUri}`, { bundleUri }, kid),
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

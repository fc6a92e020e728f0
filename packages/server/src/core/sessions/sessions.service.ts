import type { AuthMethod } from '../auth-methods/auth-methods.model.js';
import type { EventBus } from '../shared/events.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { Repos } from '../shared/unit-of-work.js';
import type { UidNode } from '../uid/uid.model.js';
import { RevocationSet } from './revocation-set.js';
import type { Revocation } from './revocations.repo.js';
import { tokenExpired, tokenInvalid, tokenRevoked } from './sessions.errors.js';
import type {
  DpopProofVerifier,
  JwtCodec,
  Principal,
  SenderContext,
  SessionClaims,
  SessionGrant,
} from './sessions.model.js';

export interface SessionsConfig {
  issuer: string;
  audience: string;
  /** Hard ceiling of any session token's lifetime, whatever a method says. */
  maxSessionTtlSeconds: number;
}

export interface SessionsServiceDeps {
  codec: JwtCodec;
  clock: Clock;
  credentials: CredentialFactory;
  config: SessionsConfig;
  /** Reloads signing keys from the store (another server may have rotated them). */
  reloadKeys: () => Promise<void>;
  /** Entries for the verified-token cache before it is cleared; bounded memory. */
  cacheLimit?: number;
  /** DPoP proofs (RFC 9449); without it, DPoP-bound tokens are refused (fail closed). */
  dpop?: DpopProofVerifier;
  /**
   * Revocations are announced (`credential.revoked`) inside the transaction that revokes, for what
   * else must end with the credential (its leases): ADR 0013.
   */
  events?: EventBus;
}

export interface IssuedSession {
  token: string;
  claims: SessionClaims;
  expiresAtMs: number;
}

const CLOCK_SKEW_SECONDS = 60;
const KEY_RELOAD_INTERVAL_MS = 1000;

/** Issues and verifies session tokens, and keeps the revocation set they are checked against. */
export function createSessionsService(deps: SessionsServiceDeps) {
  const { codec, clock, credentials, config } = deps;
  const revocations = new RevocationSet();
  const cache = new Map<string, SessionClaims>();
  const cacheLimit = deps.cacheLimit ?? 100_000;
  let lastKeyReloadMs = 0;

  function issue(
    subject: { method: AuthMethod; identityId: string; node?: UidNode },
    grant: SessionGrant = {},
  ): IssuedSession {
    const nowMs = clock.nowMs();
    const iat = Math.floor(nowMs / 1000);
    const methodTtl = subject.method.settings.jwtTtlSeconds;
    let exp =
      iat + Math.min(methodTtl, config.maxSessionTtlSeconds, grant.ttlSeconds ?? Number.POSITIVE_INFINITY);
    // Nothing outlives the credential it came from (ADR 0003).
    if (subject.node) exp = Math.min(exp, Math.floor(subject.node.expiresAtMs / 1000));
    if (subject.method.expiresAtMs !== null)
      exp = Math.min(exp, Math.floor(subject.method.expiresAtMs / 1000));
    const audience = grant.audience ?? config.audience;
    const claims: SessionClaims = {
      iss: config.issuer,
      aud: typeof audience === 'string' ? audience : audience.length === 1 ? audience[0]! : [...audience],
      sub: subject.identityId,
      client_id: grant.clientId ?? subject.method.id,
      jti: credentials.newId('s-', 16),
      iat,
      iat_ms: nowMs,
      exp,
      am: subject.method.id,
      ...(subject.node ? { uid: subject.node.id, uidp: subject.node.path } : {}),
      ...(grant.scope?.length ? { scope: grant.scope.join(' ') } : {}),
      ...(grant.confirmation ? { cnf: grant.confirmation } : {}),
      ...(grant.actor ? { act: grant.actor } : {}),
    };
    return {
      token: codec.signJwt(claims as unknown as Record<string, unknown>),
      claims,
      expiresAtMs: exp * 1000,
    };
  }

  async function decode(token: string, anyAudience = false): Promise<SessionClaims> {
    let result = codec.verifyJwt(token);
    if (!result.ok && result.reason === 'unknown_kid') {
      const nowMs = clock.nowMs();
      if (nowMs - lastKeyReloadMs >= KEY_RELOAD_INTERVAL_MS) {
        lastKeyReloadMs = nowMs;
        await deps.reloadKeys();
        result = codec.verifyJwt(token);
      }
    }
    if (!result.ok) throw tokenInvalid(result.reason);
    const p = result.payload;
    const aud = p.aud;
    const audOk = aud === config.audience || (Array.isArray(aud) && aud.includes(config.audience));
    if (!audOk && !anyAudience) throw tokenInvalid('wrong_audience');
    if (p.iss !== config.issuer) throw tokenInvalid('wrong_issuer');
    if (
      typeof p.sub !== 'string' ||
      typeof p.am !== 'string' ||
      typeof p.jti !== 'string' ||
      typeof p.exp !== 'number' ||
      typeof p.iat !== 'number' ||
      (p.iat_ms !== undefined && typeof p.iat_ms !== 'number') ||
      (p.uid !== undefined && typeof p.uid !== 'string') ||
      (p.uidp !== undefined && typeof p.uidp !== 'string') ||
      (p.scope !== undefined && typeof p.scope !== 'string') ||
      (p.cnf !== undefined && (typeof p.cnf !== 'object' || p.cnf === null)) ||
      (p.act !== undefined && (typeof p.act !== 'object' || p.act === null))
    ) {
      throw tokenInvalid('bad_claims');
    }
    return p as unknown as SessionClaims;
  }

  /**
   * Refuses a sender-constrained token used without proof of its key (RFC 9449 §7.1, RFC 8705
   * §3): checked on every request, after the cache, since the proof is per request.
   */
  async function checkSender(claims: SessionClaims, token: string, sender: SenderContext | undefined) {
    const cnf = claims.cnf;
    if (!cnf) {
      if (sender?.scheme === 'DPoP') throw tokenInvalid('dpop_scheme_for_unbound_token');
      return;
    }
    if (cnf['x5t#S256'] !== undefined) {
      const presented = sender?.certificateThumbprint;
      // Thumbprints are public values: a plain comparison.
      if (!presented || presented !== cnf['x5t#S256']) throw tokenInvalid('certificate_binding_mismatch');
    }
    if (cnf.jkt !== undefined) {
      if (sender?.scheme !== 'DPoP' || !sender.dpopProof) throw tokenInvalid('dpop_proof_missing');
      if (!deps.dpop) throw tokenInvalid('dpop_unsupported');
      const proof = await deps.dpop.verify(sender.dpopProof, {
        method: sender.method,
        url: sender.url,
        accessToken: token,
        nowMs: clock.nowMs(),
      });
      if (!proof.ok) throw tokenInvalid(`dpop_${proof.reason}`);
      if (proof.jkt !== cnf.jkt) throw tokenInvalid('dpop_key_mismatch');
    }
  }

  /**
   * Verifies a session token (with or without the `t-` prefix) and returns its claims. `sender`
   * is what the request proved beside the token; a sender-constrained token needs it.
   */
  async function verify(rawToken: string, sender?: SenderContext): Promise<SessionClaims> {
    const token = rawToken.startsWith('t-') ? rawToken.slice(2) : rawToken;
    if (token.length > 4096) throw tokenInvalid('too_long');
    const nowSeconds = clock.nowMs() / 1000;
    let claims = cache.get(token);
    if (!claims) {
      claims = await decode(token);
      if (claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) throw tokenInvalid('issued_in_future');
      if (claims.exp > nowSeconds) {
        if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
        cache.set(token, claims);
      }
    }
    if (claims.exp <= nowSeconds) {
      cache.delete(token);
      throw tokenExpired();
    }
    const revoked = revocations.check(claims);
    if (revoked) throw tokenRevoked(revoked);
    await checkSender(claims, token, sender);
    return claims;
  }

  /**
   * Records a revocation in the caller's transaction; it takes effect in this process when the
   * transaction commits, and in other processes when they poll or are notified.
   */
  async function revoke(
    repos: Repos,
    kind: Revocation['kind'],
    subject: string,
    reason: string,
  ): Promise<void> {
    const nowMs = clock.nowMs();
    const entry = {
      kind,
      subject,
      reason,
      revokedAtMs: nowMs,
      expiresAtMs: nowMs + (config.maxSessionTtlSeconds + CLOCK_SKEW_SECONDS) * 1000,
    };
    const seq = await repos.revocations.insert(entry);
    repos.afterCommit(() => revocations.add({ ...entry, seq }));
    await deps.events?.publish(repos, 'credential.revoked', { kind, subject, reason });
  }

  /**
   * A token's claims when it is active for any audience (RFC 7662 introspection), or null: signed
   * by this server, not expired, not revoked. The sender constraint is reported, not checked.
   */
  async function introspect(rawToken: string): Promise<SessionClaims | null> {
    const token = rawToken.startsWith('t-') ? rawToken.slice(2) : rawToken;
    if (token.length > 4096) return null;
    const claims = await decode(token, true).catch(() => null);
    const nowSeconds = clock.nowMs() / 1000;
    if (!claims || claims.exp <= nowSeconds || claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) return null;
    return revocations.check(claims) ? null : claims;
  }

  return {
    issue,
    verify,
    introspect,
    revoke,
    /** Applies revocations read from the store (start-up, polling, notifications). */
    applyRevocations(entries: Revocation[]): void {
      for (const entry of entries) revocations.add(entry);
    },
    highestRevocationSeq: () => revocations.highestSeq,
    /** Live entries in the in-memory revocation set (a gauge). */
    revocationSetSize: () => revocations.size,
    pruneRevocations(): void {
      revocations.prune(clock.nowMs());
      const nowSeconds = clock.nowMs() / 1000;
      for (const [token, claims] of cache) if (claims.exp <= nowSeconds) cache.delete(token);
    },
    toPrincipal(claims: SessionClaims): Principal {
      return {
        identityId: claims.sub,
        authMethodId: claims.am,
        via: 'session',
        tokenId: claims.jti,
        uidNodeId: claims.uid ?? null,
        uidNodePath: claims.uidp ?? null,
      };
    },
    /**
     * A reported leaked token (ADR 0020): its claims when this server signed it (any audience), and
     * whether it still works; null for anything else. Never cached.
     */
    async identify(rawToken: string): Promise<{ claims: SessionClaims; live: boolean } | null> {
      const token = rawToken.startsWith('t-') ? rawToken.slice(2) : rawToken;
      if (token.length > 4096) return null;
      const claims = await decode(token, true).catch(() => null);
      if (!claims) return null;
      return { claims, live: claims.exp > clock.nowMs() / 1000 && !revocations.check(claims) };
    },
    /** Revokes every token of an identity (suspension, retirement). */
    async revokeIdentityTokens(repos: Repos, identityId: string, reason: string): Promise<void> {
      await revoke(repos, 'identity', identityId, reason);
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;

import type { Revocation } from './revocations.repo.js';

/** The claims a revocation can match. */
export interface RevocableClaims {
  sub: string;
  am: string;
  uid?: string;
  /** Materialised path of the UID node when the token was issued: `/root/…/node/`. */
  uidp?: string;
  iat: number;
  /** The token's own id (single-token revocation, RFC 7009). */
  jti?: string;
  /** Millisecond issue time, when the token carries it. */
  iat_ms?: number;
}

/**
 * In-memory set of live revocations, checked on every verification. A subtree revocation is one
 * entry however large the subtree: a token matches when its node path contains the revoked node.
 */
export class RevocationSet {
  private readonly nodes = new Map<string, Revocation>();
  private readonly subtrees = new Map<string, Revocation>();
  private readonly methods = new Map<string, Revocation>();
  private readonly identities = new Map<string, Revocation>();
  private readonly tokens = new Map<string, Revocation>();
  private lastSeq = 0;

  get highestSeq(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.nodes.size + this.subtrees.size + this.methods.size + this.identities.size + this.tokens.size;
  }

  add(entry: Revocation): void {
    const map = this.mapFor(entry.kind);
    const existing = map.get(entry.subject);
    if (!existing || existing.revokedAtMs < entry.revokedAtMs) map.set(entry.subject, entry);
    if (entry.seq > this.lastSeq) this.lastSeq = entry.seq;
  }

  /** The reason the token is revoked, or null. */
  check(claims: RevocableClaims): string | null {
    const issuedAtMs = claims.iat_ms ?? claims.iat * 1000;
    const hit = (r: Revocation | undefined) =>
      r !== undefined && issuedAtMs <= r.revokedAtMs ? r.reason : null;
    const direct =
      (claims.jti ? hit(this.tokens.get(claims.jti)) : null) ??
      hit(this.identities.get(claims.sub)) ??
      hit(this.methods.get(claims.am)) ??
      (claims.uid ? hit(this.nodes.get(claims.uid)) : null);
    if (direct) return direct;
    if (claims.uidp && this.subtrees.size > 0) {
      for (const segment of claims.uidp.split('/')) {
        if (segment) {
          const reason = hit(this.subtrees.get(segment));
          if (reason) return reason;
        }
      }
    }
    return null;
  }

  /** Forgets revocations whose every affected token has expired. */
  prune(nowMs: number): void {
    for (const map of [this.nodes, this.subtrees, this.methods, this.identities, this.tokens]) {
      for (const [key, entry] of map) if (entry.expiresAtMs < nowMs) map.delete(key);
    }
  }

  private mapFor(kind: Revocation['kind']): Map<string, Revocation> {
    switch (kind) {
      case 'node':
        return this.nodes;
      case 'subtree':
        return this.subtrees;
      case 'method':
        return this.methods;
      case 'identity':
        return this.identities;
      case 'token':
        return this.tokens;
    }
  }
}

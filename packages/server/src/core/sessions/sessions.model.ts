/** Claims of a Tessera session token (RFC 9068 access-token profile plus Tessera's own). */
export interface SessionClaims {
  iss: string;
  /** The audience: this server's by default, or the resource servers the grant named (RFC 8707). */
  aud: string | string[];
  sub: string;
  client_id: string;
  jti: string;
  iat: number;
  /** Issue time in milliseconds: `iat` has whole seconds, revocation needs to order events within one. */
  iat_ms: number;
  exp: number;
  /** Auth method (access id). */
  am: string;
  /** UID node id, when the token came from a UID token. */
  uid?: string;
  /** Materialised path of that node at issue time, so subtree revocation is one set entry. */
  uidp?: string;
  /** Space-separated scopes (RFC 9068 §2.2.3), when the grant named any. */
  scope?: string;
  /** Sender constraint: the token is worthless without proof of this key (RFC 7800). */
  cnf?: Confirmation;
  /** Delegation: who is acting for `sub` (RFC 8693 §4.1), the current actor outermost. */
  act?: ActorClaim;
}

/** The key a sender-constrained token is bound to. */
export interface Confirmation {
  /** RFC 9449 §6.1: SHA-256 thumbprint (RFC 7638) of the DPoP public key, base64url. */
  jkt?: string;
  /** RFC 8705 §3.1: SHA-256 thumbprint of the client certificate, base64url. */
  'x5t#S256'?: string;
}

/** One party of a delegation chain (RFC 8693 §4.1); `act` nests the one it acted through. */
export interface ActorClaim {
  sub: string;
  client_id?: string;
  act?: ActorClaim;
}

/**
 * What a session is issued for, beyond who it is for: everything optional, and never wider than
 * the method allows (the caller of `issue` has checked the subject's rights for each).
 */
export interface SessionGrant {
  /** Resource servers the token is for (RFC 8707); default: this server's audience. */
  audience?: string | readonly string[];
  scope?: readonly string[];
  confirmation?: Confirmation;
  actor?: ActorClaim;
  /** The OAuth client the token is issued to, when not the method itself (token exchange). */
  clientId?: string;
  /** A shorter lifetime than the method's. */
  ttlSeconds?: number;
}

/**
 * What a request proved beside the token, for sender-constrained tokens: DPoP (RFC 9449 §7) needs
 * the method and URL the proof must name; mTLS (RFC 8705 §3) the verified client certificate.
 */
export interface SenderContext {
  /** The authorization scheme the token came with. */
  scheme: 'Bearer' | 'DPoP';
  method: string;
  /** The request URL without query or fragment (the proof's `htu`). */
  url: string;
  /** The `DPoP` header, when sent. */
  dpopProof?: string | undefined;
  /** Base64url SHA-256 of the verified client certificate (DER), when the connection had one. */
  certificateThumbprint?: string | undefined;
}

/** Checks a DPoP proof (RFC 9449 §4.3) for one request; implemented in crypto/, consumes the `jti`. */
export interface DpopProofVerifier {
  verify(
    proof: string,
    request: { method: string; url: string; accessToken: string; nowMs: number },
  ): Promise<{ ok: true; jkt: string } | { ok: false; reason: string }>;
}

/** The authenticated caller of a request. */
export interface Principal {
  identityId: string;
  authMethodId: string;
  /** How the caller authenticated on this request. */
  via: 'session' | 'uid-token';
  tokenId: string | null;
  uidNodeId: string | null;
  uidNodePath: string | null;
}

/** Signing and verification of JWTs; implemented by crypto/keyring. */
export interface JwtCodec {
  signJwt(payload: Record<string, unknown>): string;
  verifyJwt(
    token: string,
  ):
    | { ok: true; payload: Record<string, unknown>; header: Record<string, unknown> }
    | { ok: false; reason: 'malformed' | 'unknown_kid' | 'bad_signature' | 'bad_header' };
  hasKid(kid: string): boolean;
}

declare module '../shared/events.js' {
  interface DomainEvents {
    /**
     * A credential was revoked (a UID node or subtree, an auth method, an identity's tokens), inside
     * the transaction that revoked it: what was obtained through it ends with it.
     */
    'credential.revoked': {
      kind: 'node' | 'subtree' | 'method' | 'identity' | 'token';
      subject: string;
      reason: string;
    };
  }
}

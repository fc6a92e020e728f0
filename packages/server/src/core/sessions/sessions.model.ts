/** Claims of a Tessera session token (RFC 9068 access-token profile plus Tessera's own). */
export interface SessionClaims {
  iss: string;
  aud: string;
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

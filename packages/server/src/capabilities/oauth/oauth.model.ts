import type { AuthFailureReason } from '../../core/auth-methods/auth-method.registry.js';

/** RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8707 §2, RFC 9449 §7/§8 error codes the door answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'slow_down'
  | 'authorization_pending'
  | 'expired_token'
  | 'access_denied'
  | 'unknown_user_id'
  | 'invalid_binding_message'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'insufficient_scope';

/** An OAuth error: rendered by the door as `{error, error_description}` with its status. */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    /** The precise internal reason, for the audit event (never shown). */
    readonly reason: AuthFailureReason | string = error,
    /** A 429's `Retry-After`, in seconds (60 when not given). */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

/** Every client authentication failure looks the same outside (RFC 6749 §5.2). */
export const invalidClient = (reason: AuthFailureReason) =>
  new OAuthError('invalid_client', 'Client authentication failed.', 401, reason);

/** The form parameters a request presented, one value each. */
export type FormParams = Readonly<Record<string, string>>;

/** How the client authenticated, as read from the request. */
export type ClientCredentials =
  | {
      kind: 'client_secret';
      via: 'client_secret_basic' | 'client_secret_post';
      clientId: string;
      secret: string;
    }
  | { kind: 'client_assertion'; clientId: string | null; assertion: string }
  /** RFC 8705: the TLS client certificate of the connection, with `client_id` in the form. */
  | {
      kind: 'tls_client_certificate';
      clientId: string;
      der: Uint8Array;
      thumbprint: string;
      /** Verified by the listener's own client CAs (`--tls-client-ca`). */
      authorized: boolean;
    }
  | { kind: 'none'; clientId: string | null };

/** RFC 7523 §2.1. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** The longest delegation chain a token may carry (actors, outermost first). */
export const MAX_ACTOR_CHAIN_DEPTH = 4;

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_ENDPOINT_PATH = '/oauth/token';
/** OpenID CIBA Core §7: the backchannel authentication endpoint. */
/** Refuses every request: no browser-based grant (present because clients require it in metadata). */
export const AUTHORIZATION_ENDPOINT_PATH = '/oauth/authorize';
export const BACKCHANNEL_ENDPOINT_PATH = '/oauth/bc-authorize';
export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
/** Every grant type a client's `grantTypes` may list. */
export const OAUTH_GRANT_TYPES = [
  'client_credentials',
  TOKEN_EXCHANGE_GRANT,
  JWT_BEARER_GRANT,
  CIBA_GRANT,
] as const;
export const INTROSPECTION_ENDPOINT_PATH = '/oauth/introspect';
export const REVOCATION_ENDPOINT_PATH = '/oauth/revoke';
export const REGISTRATION_ENDPOINT_PATH = '/oauth/register';
export const METADATA_PATH = '/.well-known/oauth-authorization-server';

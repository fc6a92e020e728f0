import type { AuditActor } from '../audit/audit.model.js';
import type { IdentityState } from '../identities/identities.model.js';
import type { RequestContext } from '../shared/context.js';
import type { ReadRepos, Repos } from '../shared/unit-of-work.js';
import type { UidNode } from '../uid/uid.model.js';
import type { AuthMethod, AuthMethodTypeName } from './auth-methods.model.js';

/**
 * What a caller presents, one variant per kind of proof (issue 11). Each auth-method kind accepts
 * the variants it understands and refuses the others (`wrong_credential_kind`); a front door only
 * translates its wire format into one of these.
 */
export type PresentedCredential =
  /** An access id's random key (administrators, bootstrap). */
  | { kind: 'access_key'; accessKey: string }
  /** A Universal Identity `u-` token. */
  | { kind: 'uid_token'; uidToken: string }
  /** An OAuth client's secret (RFC 6749 §2.3.1). */
  | { kind: 'client_secret'; clientId: string; clientSecret: string }
  /** A signed client assertion (RFC 7523 §2.2, `private_key_jwt`). */
  | { kind: 'client_assertion'; clientId: string | null; assertionType: string; assertion: string }
  /** A client certificate presented over mTLS (RFC 8705), verified by the TLS layer. */
  | { kind: 'client_certificate'; clientId: string | null; certificateDer: Uint8Array }
  /** A JWT from a trusted external issuer (workload identity federation). */
  | { kind: 'federated_jwt'; jwt: string }
  /** A token to exchange (RFC 8693), optionally with the actor's own. */
  | {
      kind: 'subject_token';
      subjectToken: string;
      subjectTokenType: string;
      actorToken?: { token: string; tokenType: string };
    };

export type CredentialKind = PresentedCredential['kind'];

/** A credential as presented to the exchange pipeline (`POST /v1/auth`, the Akeyless `auth`, …). */
export interface CredentialPresentation {
  /** The kind of auth method the caller names; selects the handler. */
  accessType: AuthMethodTypeName;
  /** The auth method the caller names (required by some kinds, a cross-check for others). */
  accessId?: string | undefined;
  credential: PresentedCredential;
}

/**
 * Why a presentation was refused: internal, audited and counted, never shown to the caller (who
 * sees one uniform 401). A closed set, so a reason cannot drift into free text.
 */
export const AUTH_FAILURE_REASONS = [
  'too_many_failures',
  'unknown_access_type',
  'wrong_credential_kind',
  'unknown_access_id',
  'wrong_access_type',
  'wrong_access_key',
  'access_id_does_not_match_token',
  'malformed_uid_token',
  'unknown_uid_token',
  'uid_token_revoked',
  'uid_token_expired',
  'auth_method_missing',
  'reuse_of_superseded_token',
  'reuse_of_replaced_token',
  'rotated_away_successor_unused',
  'rotation_pending_use_new_token',
  'auth_method_expired',
  'source_not_in_bound_cidrs',
  'identity_missing',
  'identity_suspended',
  'identity_retired',
  'unknown_client',
  'wrong_client_auth_method',
  'wrong_client_secret',
  'assertion_malformed',
  'assertion_alg_not_allowed',
  'assertion_unknown_key',
  'assertion_bad_signature',
  'assertion_expired',
  'assertion_lifetime_too_long',
  'assertion_wrong_audience',
  'assertion_wrong_issuer',
  'assertion_missing_claim',
  'assertion_replayed',
  'client_jwks_unavailable',
  'federation_malformed_jwt',
  'federation_unknown_issuer',
  'federation_wrong_audience',
  'federation_alg_not_allowed',
  'federation_unknown_key',
  'federation_bad_signature',
  'federation_expired',
  'federation_not_yet_valid',
  'federation_issued_in_future',
  'federation_too_old',
  'federation_missing_claim',
  'federation_claim_mismatch',
  'federation_jwks_unavailable',
  'federation_identity_not_registered',
  'federation_bad_identity_name',
  'federation_token_replayed',
  'certificate_missing',
  'certificate_untrusted',
  'certificate_unknown',
  'certificate_revoked',
  'certificate_name_not_bound',
] as const;

export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Who a credential proved to be. */
export interface AuthenticatedSubject {
  method: AuthMethod;
  identityId: string;
  node?: UidNode;
  credentialRef: string;
  /** The identity's state when the handler already read it (saves the pipeline a read). */
  identityState?: IdentityState | null;
  /** Extra audit data of the success event (never a credential): e.g. a federated issuer and subject. */
  auditData?: Record<string, unknown>;
}

export type AuthenticationResult =
  | { ok: true; subject: AuthenticatedSubject }
  | { ok: false; reason: AuthFailureReason; actor: AuditActor; auditData?: Record<string, unknown> };

/**
 * One kind of auth method. Every kind (access keys, UID, and later OAuth clients, OIDC federation,
 * certificates) implements this and is registered once; the exchange pipeline is shared.
 */
export interface AuthMethodHandler {
  readonly type: AuthMethodTypeName;
  /**
   * Methods of this type are created by the server for itself (a person-session method…):
   * identity-as-code never exports, updates or deletes them (ADR 0021).
   */
  readonly systemOwned?: boolean;
  /**
   * Stored settings in the vocabulary `normaliseSettings` takes, when the two differ: what an
   * identity-as-code export writes, so that planning the export shows no change (ADR 0021).
   */
  configSettings?(settings: AuthMethod['settings']): Record<string, unknown>;
  /** Validates and completes type-specific settings; `current` is given on update. */
  normaliseSettings(
    input: Record<string, unknown>,
    current: AuthMethod['settings'] | null,
  ): AuthMethod['settings'];
  /**
   * Resolves a presented credential to its method and subject, inside the caller's write
   * transaction (so state changes such as rotation promotion commit with the audit event).
   * Method-wide checks (expiry, bound CIDRs, identity state) are the pipeline's, not the handler's.
   */
  authenticate(
    repos: Repos,
    presentation: CredentialPresentation,
    ctx: RequestContext,
    prepared?: unknown,
  ): Promise<AuthenticationResult>;
  /**
   * Work done before the write transaction, whose result is given to `authenticate`: network
   * calls (a federated issuer's JWKS) and signature checks never run inside a transaction.
   */
  prepare?(presentation: CredentialPresentation, ctx: RequestContext): Promise<unknown>;
}

/**
 * A kind whose credential check only reads (no state changes on presentation, unlike UID
 * rotation): callers may run it in a read, outside a write transaction.
 */
export interface ReadOnlyAuthMethodHandler extends Omit<AuthMethodHandler, 'authenticate'> {
  authenticate(
    repos: ReadRepos,
    presentation: CredentialPresentation,
    ctx: RequestContext,
  ): Promise<AuthenticationResult>;
}

/** The registry of auth-method kinds. */
export class AuthMethodRegistry {
  private readonly handlers = new Map<string, AuthMethodHandler>();

  register(handler: AuthMethodHandler): this {
    if (this.handlers.has(handler.type)) throw new Error(`auth method type ${handler.type} registered twice`);
    this.handlers.set(handler.type, handler);
    return this;
  }

  get(type: string): AuthMethodHandler | undefined {
    return this.handlers.get(type);
  }

  types(): string[] {
    return [...this.handlers.keys()];
  }
}

import type { AuditActor } from '../audit/audit.model.js';
import type { IdentityState } from '../identities/identities.model.js';
import type { RequestContext } from '../shared/context.js';
import type { Repos } from '../shared/unit-of-work.js';
import type { UidNode } from '../uid/uid.model.js';
import type { AuthMethod, AuthMethodTypeName } from './auth-methods.model.js';

/** A credential as presented to `POST /v1/auth`. Fields are type-specific. */
export interface CredentialPresentation {
  accessType: AuthMethodTypeName;
  accessId?: string | undefined;
  accessKey?: string | undefined;
  uidToken?: string | undefined;
}

/** Who a credential proved to be. */
export interface AuthenticatedSubject {
  method: AuthMethod;
  identityId: string;
  node?: UidNode;
  credentialRef: string;
  /** The identity's state when the handler already read it (saves the pipeline a read). */
  identityState?: IdentityState | null;
}

export type AuthenticationResult =
  | { ok: true; subject: AuthenticatedSubject }
  | { ok: false; reason: string; actor: AuditActor };

/**
 * One kind of auth method. Every kind (access keys, UID, and later OAuth clients, OIDC federation,
 * certificates) implements this and is registered once; the exchange pipeline is shared.
 */
export interface AuthMethodHandler {
  readonly type: AuthMethodTypeName;
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

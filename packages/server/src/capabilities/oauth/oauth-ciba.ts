import type { AuthMethod } from '../../core/auth-methods/auth-methods.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { RequestContext } from '../../core/shared/context.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { ApprovalAction } from '../approvals/approvals.model.js';
import type { ApprovalsService } from '../approvals/approvals.service.js';
import { CIBA_GRANT, type ClientCredentials, OAuthError } from './oauth.model.js';
import type { AuditFn, AuthenticatedClient, OAuthClient, TokenResponse } from './oauth.service.js';
import { type CibaPing, MAX_NOTIFICATION_TOKEN_LENGTH } from './oauth-ciba-ping.js';

/** Default and maximum life of a CIBA request (`expires_in`), and the polling interval (CIBA §7.3). */
const DEFAULT_EXPIRY_SECONDS = 300;
const MAX_EXPIRY_SECONDS = 600;
export const CIBA_INTERVAL_SECONDS = 2;

/** What CIBA needs beyond the OAuth service: approvals, and people found by `login_hint`. */
export interface CibaDeps {
  approvals: ApprovalsService;
  /** The person `login_hint` names (an email or a person id), or null. */
  personByHint(hint: string): Promise<{ id: string; authMethodId: string } | null>;
  /** Ping mode (§10.2): notifies ping-mode clients once the person decided; absent: poll only. */
  ping?: CibaPing;
}

/**
 * OpenID CIBA Core 1.0, poll and ping modes, on the token endpoint (issue 14): the client (an agent) asks
 * for a token on behalf of a person; the request is an approval the person decides (console, CLI,
 * webhook link); the client polls with `auth_req_id`. The token is the person's (`sub`), issued
 * to the client (`client_id`) and recording it as the actor (`act`), with no scope beyond what the
 * client asked for and its roles grant.
 */
export function createCiba(
  deps: CibaDeps & {
    uow: UnitOfWork;
    clock: Clock;
    sessions: SessionsService;
    audit: AuditFn;
    authenticateClient(
      c: ClientCredentials,
      ctx: RequestContext,
      endpoint: string,
    ): Promise<AuthenticatedClient>;
    spend(auth: AuthenticatedClient, ctx: RequestContext): Promise<void>;
    /** Refuses (`unauthorized_client`) a grant type the client's registration does not list. */
    grantAllowed(client: OAuthClient, grantType: string, ctx: RequestContext): Promise<void>;
    refuse(
      client: OAuthClient,
      ctx: RequestContext,
      error: OAuthError,
      data?: Record<string, unknown>,
    ): Promise<never>;
    grantedScopes(client: OAuthClient, requested: string | undefined): Promise<string[] | OAuthError>;
    /** Cluster-wide once-per-window keys (slow_down). */
    consumeOnce(key: string, ttlSeconds: number): Promise<boolean>;
  },
) {
  const { uow, clock } = deps;

  /** CIBA §7.1: the authentication request. */
  async function backchannel(
    params: Readonly<Record<string, string>>,
    credentials: ClientCredentials,
    ctx: RequestContext,
  ) {
    const auth = await deps.authenticateClient(credentials, ctx, 'backchannel');
    const { client } = auth;
    await deps.grantAllowed(client, CIBA_GRANT, ctx);
    await deps.spend(auth, ctx);
    const scope = params.scope ?? '';
    const words = [...new Set(scope.split(' ').filter(Boolean))];
    if (!words.includes('openid'))
      await deps.refuse(
        client,
        ctx,
        new OAuthError('invalid_scope', 'scope must include openid (CIBA §7.1).'),
      );
    if (params.login_hint_token !== undefined || params.id_token_hint !== undefined)
      await deps.refuse(client, ctx, new OAuthError('invalid_request', 'Only login_hint is supported.'));
    const hint = params.login_hint;
    if (!hint || hint.length > 320)
      await deps.refuse(client, ctx, new OAuthError('invalid_request', 'login_hint is required.'));
    const others = words.filter((w) => w !== 'openid');
    const granted = others.length ? await deps.grantedScopes(client, others.join(' ')) : [];
    if (granted instanceof OAuthError)
      return deps.refuse(client, ctx, granted, { scope: scope.slice(0, 200) });
    const binding = params.binding_message;
    if (binding !== undefined && (binding.length === 0 || binding.length > 200))
      await deps.refuse(
        client,
        ctx,
        new OAuthError('invalid_binding_message', 'binding_message: 1 to 200 characters.'),
      );
    let expiry = DEFAULT_EXPIRY_SECONDS;
    if (params.requested_expiry !== undefined) {
      expiry = Number(params.requested_expiry);
      if (!Number.isInteger(expiry) || expiry < 1)
        await deps.refuse(
          client,
          ctx,
          new OAuthError('invalid_request', 'requested_expiry must be a positive integer.'),
        );
      expiry = Math.min(expiry, MAX_EXPIRY_SECONDS);
    }
    // §7.1: a ping-mode client must give the bearer token the notification will carry.
    const ping = client.settings.cibaDeliveryMode === 'ping' ? deps.ping : undefined;
    const notificationToken = params.client_notification_token;
    if (
      ping &&
      (!notificationToken ||
        notificationToken.length > MAX_NOTIFICATION_TOKEN_LENGTH ||
        /\s/.test(notificationToken))
    )
      await deps.refuse(
        client,
        ctx,
        new OAuthError(
          'invalid_request',
          `client_notification_token is required in ping mode (at most ${MAX_NOTIFICATION_TOKEN_LENGTH} characters).`,
        ),
      );
    const person = await deps.personByHint(hint!);
    if (!person)
      return deps.refuse(
        client,
        ctx,
        new OAuthError('unknown_user_id', 'The login_hint names no known person.', 400, 'ciba_unknown_user'),
      );
    const action: ApprovalAction = {
      kind: 'ciba.token',
      clientId: client.id,
      scope: ['openid', ...granted].join(' '),
      ...(binding ? { bindingMessage: binding } : {}),
    };
    const approval = await deps.approvals.request(
      {
        requester: { kind: 'identity', id: client.identityId, name: client.name },
        action,
        justification: binding ?? `Sign-in of ${client.name} on your behalf`,
        approvers: { kind: 'person', person: `person:${person.id}` },
        ttlSec: expiry,
      },
      ctx,
    );
    if (ping && client.settings.cibaNotificationEndpoint)
      await ping.register(
        {
          authReqId: approval.id,
          clientId: client.id,
          endpoint: client.settings.cibaNotificationEndpoint,
          expiresAtMs: Date.parse(approval.expiresAt),
        },
        notificationToken!,
        ctx,
      );
    return { auth_req_id: approval.id, expires_in: expiry, interval: CIBA_INTERVAL_SECONDS };
  }

  /** CIBA §10: the token request with `grant_type=urn:openid:params:grant-type:ciba`. */
  async function token(
    params: Readonly<Record<string, string>>,
    credentials: ClientCredentials,
    ctx: RequestContext,
  ): Promise<TokenResponse> {
    const auth = await deps.authenticateClient(credentials, ctx, 'token');
    const { client } = auth;
    await deps.grantAllowed(client, CIBA_GRANT, ctx);
    await deps.spend(auth, ctx);
    const id = params.auth_req_id;
    const approval = id && id.length <= 64 ? await deps.approvals.get(id) : null;
    if (!approval || approval.action.kind !== 'ciba.token' || approval.action.clientId !== client.id)
      return deps.refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'Unknown auth_req_id.', 400, 'ciba_unknown_request'),
      );
    // §11: a poll less than `interval` after the last accepted one is slow_down, on every server
    // (one key per request that lives `interval` seconds; fixed clock windows let two quick polls
    // straddling a window boundary both through).
    if (!(await deps.consumeOnce(`ciba-poll:${id}`, CIBA_INTERVAL_SECONDS)))
      throw new OAuthError('slow_down', 'Poll less often.', 400, 'ciba_slow_down');
    switch (approval.status) {
      case 'pending':
        throw new OAuthError('authorization_pending', 'The person has not decided yet.', 400, 'ciba_pending');
      case 'denied':
        return deps.refuse(
          client,
          ctx,
          new OAuthError('access_denied', 'The person denied the request.', 400, 'ciba_denied'),
        );
      case 'expired':
        return deps.refuse(
          client,
          ctx,
          new OAuthError('expired_token', 'The auth_req_id has expired.', 400, 'ciba_expired'),
        );
      case 'used':
        return deps.refuse(
          client,
          ctx,
          new OAuthError('invalid_grant', 'The auth_req_id was used.', 400, 'ciba_used'),
        );
    }
    // Asked by this client through bc-authorize, decided by the one person it named.
    const consumed = await deps.approvals.consume(id!, approval.action, ctx, {
      requester: { kind: 'identity', id: client.identityId },
      approvers: (a) => a.kind === 'person',
    });
    if (!consumed.ok)
      return deps.refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'The auth_req_id was used.', 400, `ciba_${consumed.reason}`),
      );
    const personRef = approval.approvers.kind === 'person' ? approval.approvers.person : '';
    const person = await deps.personByHint(personRef.replace(/^person:/, ''));
    const method = person ? await uow.read((r) => r.authMethods.get(person.authMethodId)) : null;
    if (!person || !method)
      return deps.refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'The person is gone.', 400, 'ciba_person_missing'),
      );
    const scopes = approval.action.scope.split(' ').filter((s) => s !== 'openid');
    const session = deps.sessions.issue(
      { method: method as AuthMethod, identityId: method.identityId },
      {
        scope: scopes,
        clientId: client.id,
        actor: { sub: client.identityId, client_id: client.id },
        ttlSeconds: client.settings.jwtTtlSeconds,
      },
    );
    await uow.write((r) =>
      deps.audit(
        r,
        'oauth.token_issued',
        'success',
        { authMethodId: client.id, identityId: client.identityId, tokenId: session.claims.jti },
        ctx,
        {
          grantType: 'ciba',
          authReqId: id,
          person: personRef,
          scope: scopes,
          approvedBy: approval.decisions.map((d) => d.by),
        },
      ),
    );
    return {
      access_token: session.token,
      token_type: 'Bearer',
      expires_in: Math.max(0, Math.floor((session.expiresAtMs - clock.nowMs()) / 1000)),
      scope: approval.action.scope,
    };
  }

  return { backchannel, token };
}

import {
  type DelegationRule,
  delegationSubjects,
  type OAuthClientSettings,
} from '../../core/auth-methods/auth-methods.model.js';
import { refuseReason } from '../../core/auth-methods/method-checks.js';
import type { ActorClaim } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { RequestContext } from '../../core/shared/context.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, MAX_ACTOR_CHAIN_DEPTH, OAuthError } from './oauth.model.js';
import type { AuditFn, OAuthClient, TokenRequest, TokenResponse } from './oauth.service.js';
import { applyTargets, type TargetCheck } from './oauth-resource-servers.js';

/** The `may_act` rule of `settings` for tokens of `subjectClient`: `mayActFor` is a rule without limits. */
export function delegationRule(
  settings: Pick<OAuthClientSettings, 'mayActFor' | 'delegation'>,
  subjectClient: string,
): DelegationRule | null {
  if ((settings.mayActFor ?? []).includes(subjectClient)) return { subject: subjectClient };
  return (settings.delegation ?? []).find((r) => r.subject === subjectClient) ?? null;
}

function chainDepth(act: ActorClaim | undefined): number {
  return act ? 1 + chainDepth(act.act) : 0;
}

/** Every party of a delegation chain, subject first (what `audit list` can filter by). */
function chainParties(act: ActorClaim, subject: string): string[] {
  const parties = [subject];
  for (let a: ActorClaim | undefined = act; a; a = a.act)
    parties.push(a.sub, ...(a.client_id ? [a.client_id] : []));
  return parties;
}

export function createTokenExchange(deps: {
  uow: UnitOfWork;
  clock: Clock;
  sessions: SessionsService;
  refuse(
    client: OAuthClient,
    ctx: RequestContext,
    error: OAuthError,
    data?: Record<string, unknown>,
  ): Promise<never>;
  audit: AuditFn;
  /** The resource server registry's verdict on the targets (ADR 0038). */
  targets(resources: readonly string[]): Promise<TargetCheck | OAuthError>;
  /**
   * Workload identity federation (issue 13): a `subject_token_type=…:jwt` that is not a Tessera
   * token is tried against the `oidc_federation` methods the client may act for. Returns the
   * subject's claims as if a session of that method, or null.
   */
  federatedSubject?(
    jwt: string,
    methodIds: readonly string[],
    ctx: RequestContext,
  ): Promise<{ sub: string; am: string; exp: number; jti: string } | { refused: string } | null>;
}) {
  const { uow, clock, sessions, refuse, audit } = deps;
  /**
   * RFC 8693 token exchange: `client` acts for the subject of `subject_token`. Allowed when the
   * client's registration names the subject token's client (`mayActFor` or a `delegation` rule);
   * the result is never broader than the subject token nor the rule (scopes a subset, audience a
   * resource the client and the rule allow, lifetime within the subject token's) and carries the
   * delegation chain in `act` — unless the rule allows impersonation and no actor token was sent.
   */
  return async function exchange(
    client: OAuthClient,
    credentialRef: string,
    request: TokenRequest,
    jkt: string | null,
    ctx: RequestContext,
  ): Promise<TokenResponse> {
    const p = request.params;
    const tokenTypes = [ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE];
    if (!p.subject_token || !p.subject_token_type)
      throw new OAuthError('invalid_request', 'subject_token and subject_token_type are required.');
    if (
      !tokenTypes.includes(p.subject_token_type) ||
      (p.actor_token_type && !tokenTypes.includes(p.actor_token_type))
    )
      return refuse(
        client,
        ctx,
        new OAuthError('invalid_request', 'Unsupported token type.', 400, 'unsupported_token_type'),
      );
    if (p.actor_token !== undefined && !p.actor_token_type)
      throw new OAuthError('invalid_request', 'actor_token_type is required with actor_token.');
    if (p.requested_token_type !== undefined && p.requested_token_type !== ACCESS_TOKEN_TYPE)
      return refuse(
        client,
        ctx,
        new OAuthError(
          'invalid_request',
          'Only access tokens can be requested.',
          400,
          'unsupported_requested_token_type',
        ),
      );
    let federationReason: string | null = null;
    let subject: {
      sub: string;
      am: string;
      exp: number;
      jti: string;
      client_id: string;
      scope?: string | undefined;
      act?: ActorClaim | undefined;
    } | null = await sessions.introspect(p.subject_token);
    if (!subject && p.subject_token_type === JWT_TOKEN_TYPE && deps.federatedSubject) {
      const federated = await deps.federatedSubject(
        p.subject_token,
        delegationSubjects(client.settings),
        ctx,
      );
      if (federated && 'refused' in federated) federationReason = federated.refused;
      else if (federated) subject = { ...federated, client_id: federated.am };
    }
    if (!subject)
      return refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'The subject token is not active.', 400, 'subject_token_inactive'),
        // The precise reason a federated JWT was refused (audited, never answered).
        federationReason ? { federationReason } : undefined,
      );
    if (p.actor_token !== undefined) {
      // The actor token proves who acts: it must be the calling client's own.
      const actor = await sessions.introspect(p.actor_token);
      if (!actor || actor.client_id !== client.id)
        return refuse(
          client,
          ctx,
          new OAuthError(
            'invalid_grant',
            'The actor token is not the client’s own active token.',
            400,
            'actor_token_invalid',
          ),
        );
    }
    const actorChain: ActorClaim = {
      sub: client.identityId,
      client_id: client.id,
      ...(subject.act ? { act: subject.act } : {}),
    };
    // Every refusal from here on is audited with the whole chain the token would have carried.
    const chain = {
      subject: subject.sub,
      subjectClient: subject.client_id,
      subjectTokenId: subject.jti,
      act: actorChain,
      parties: chainParties(actorChain, subject.sub),
    };
    const rule = delegationRule(client.settings, subject.client_id);
    if (!rule)
      return refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'This client may not act for that subject.', 400, 'may_act_denied'),
        chain,
      );
    // RFC 8693 §1.1: impersonation (no `act`) only where the rule says so, and only when the client
    // did not present an actor token (which asks for delegation).
    const impersonation = rule.impersonation === true && p.actor_token === undefined;
    const issuedAct = impersonation ? subject.act : actorChain;
    if (chainDepth(issuedAct) > MAX_ACTOR_CHAIN_DEPTH)
      return refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'The delegation chain is too deep.', 400, 'act_chain_too_deep'),
        { ...chain, depth: chainDepth(issuedAct) },
      );
    const subjectScopes = subject.scope ? subject.scope.split(' ') : [];
    // Never broader than the subject token, nor than the rule.
    const permitted = rule.scopes ? subjectScopes.filter((x) => rule.scopes?.includes(x)) : subjectScopes;
    let scopes = permitted;
    if (p.scope !== undefined) {
      const asked = [...new Set(p.scope.split(' ').filter(Boolean))];
      const broader = asked.length === 0 || asked.some((x) => !subjectScopes.includes(x));
      if (broader || asked.some((x) => !permitted.includes(x)))
        return refuse(
          client,
          ctx,
          new OAuthError(
            'invalid_scope',
            broader
              ? 'The exchange may not broaden the subject token’s scope.'
              : 'The delegation policy does not allow a requested scope.',
            400,
            broader ? 'exchange_scope_broader' : 'delegation_scope_denied',
          ),
          { ...chain, scope: p.scope.slice(0, 200) },
        );
      scopes = asked;
    }
    const wanted = [...request.resources, ...(p.audience ? [p.audience] : [])];
    if (wanted.length === 0)
      throw new OAuthError('invalid_request', 'Name the target with resource or audience.');
    const unknown = wanted.find((res) => !client.settings.resources.includes(res));
    const denied = wanted.find((res) => rule.audiences && !rule.audiences.includes(res));
    if (unknown !== undefined || denied !== undefined)
      return refuse(
        client,
        ctx,
        new OAuthError(
          'invalid_target',
          'A requested resource is not allowed for this client.',
          400,
          unknown !== undefined ? 'resource_not_allowed' : 'delegation_audience_denied',
        ),
        { ...chain, resource: (unknown ?? denied ?? '').slice(0, 200) },
      );

    // The resource server registry (ADR 0038), as for client_credentials.
    const targets = await deps.targets(wanted);
    if (targets instanceof OAuthError)
      return refuse(client, ctx, targets, { resource: wanted.join(' ').slice(0, 200) });
    const shaped = applyTargets(targets, scopes, {
      scopeRequested: p.scope !== undefined,
      bound: jkt !== null,
    });
    if (shaped instanceof OAuthError) return refuse(client, ctx, shaped);
    scopes = shaped.scopes;
    const ttlCap = shaped.ttlSeconds ?? Number.POSITIVE_INFINITY;

    const issued = await uow.write(async (r) => {
      const method = await r.authMethods.get(subject.am);
      if (!method) return null;
      if (await refuseReason(r, method, { identityId: subject.sub }, ctx, clock.nowMs())) return null;
      const session = sessions.issue(
        { method, identityId: subject.sub },
        {
          audience: wanted,
          scope: scopes,
          ...(issuedAct ? { actor: issuedAct } : {}),
          clientId: client.id,
          ttlSeconds: Math.min(ttlCap, Math.max(1, subject.exp - Math.floor(clock.nowMs() / 1000))),
          ...(jkt ? { confirmation: { jkt } } : {}),
        },
      );
      await audit(
        r,
        'oauth.token_exchanged',
        'success',
        {
          authMethodId: client.id,
          identityId: client.identityId,
          credentialRef,
          tokenId: session.claims.jti,
        },
        ctx,
        {
          ...chain,
          ...(impersonation ? { act: issuedAct ?? null, impersonation: true } : {}),
          audience: wanted,
          scope: scopes,
          dpop: jkt !== null,
        },
      );
      return session;
    });
    if (!issued)
      return refuse(
        client,
        ctx,
        new OAuthError('invalid_grant', 'The subject is no longer active.', 400, 'subject_inactive'),
        chain,
      );
    return {
      access_token: issued.token,
      token_type: jkt ? 'DPoP' : 'Bearer',
      expires_in: Math.max(0, Math.floor((issued.expiresAtMs - clock.nowMs()) / 1000)),
      issued_token_type: ACCESS_TOKEN_TYPE,
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
    };
  };
}

import type { AuditActor } from '../audit/audit.model.js';
import type { AuthFailureReason } from '../auth-methods/auth-method.registry.js';
import { type AuthMethod, isUidMethod, type UidSettings } from '../auth-methods/auth-methods.model.js';
import { refuseReason } from '../auth-methods/method-checks.js';
import type { IdentityState } from '../identities/identities.model.js';
import type { Metrics } from '../monitoring/metrics.port.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import type { RequestContext } from '../shared/context.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { Repos } from '../shared/unit-of-work.js';
import type { UidCredential, UidNode } from './uid.model.js';

/** What the holder wants to do with the token; only `rotate` is allowed mid-rotation. */
export type UidPurpose = 'auth' | 'rotate' | 'ack' | 'child' | 'tree' | 'revoke';

export interface PresentedUidToken {
  node: UidNode;
  method: AuthMethod & { settings: UidSettings };
  credential: UidCredential;
  /** The pending successor, when a rotation is awaiting its first use or ack. */
  pending: UidCredential | null;
  credentialRef: string;
  identityState: IdentityState | null;
}

export type UidPresentation =
  | { ok: true; token: PresentedUidToken }
  | { ok: false; reason: AuthFailureReason; actor: AuditActor };

/** Audit references of UID tokens remembered per presenter (about 200 bytes each). */
const MAX_REMEMBERED_REFS = 10_000;

/**
 * The UID credential state machine (DESIGN §2). Runs inside a write transaction because a
 * presentation can change state: the first use of a rotated token promotes it, and a reuse of a
 * rotated-away token revokes (or flags) the node's subtree.
 */
export function createUidPresenter(deps: {
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  metrics: Metrics;
}) {
  const { clock, credentials, sessions, metrics } = deps;
  /**
   * What a well-formed token always yields besides its hash: its audit reference (an HMAC) and its
   * checksum check (a SHA-256), kept per token hash so a token presented again costs one hash, not
   * three. Keyed by the hash the store already keys credentials by: no token is kept. Bounded:
   * emptied when full (a miss only costs the two hashes again).
   */
  const refs = new Map<string, string>();

  function credentialRefOf(token: string, hash: string): { credentialRef: string; wellFormed: boolean } {
    const cached = refs.get(hash);
    if (cached !== undefined) return { credentialRef: cached, wellFormed: true };
    const credentialRef = credentials.auditRef(token);
    const wellFormed = credentials.isWellFormedUidToken(token);
    // Only well-formed tokens are remembered: malformed ones cannot push real tokens out.
    if (wellFormed) {
      if (refs.size >= MAX_REMEMBERED_REFS) refs.clear();
      refs.set(hash, credentialRef);
    }
    return { credentialRef, wellFormed };
  }

  async function onReuse(
    r: Repos,
    node: UidNode,
    method: AuthMethod & { settings: UidSettings },
    actor: AuditActor,
    ctx: RequestContext,
  ) {
    const now = clock.nowMs();
    const policy = method.settings.reusePolicy;
    let revokedCount = 0;
    if (policy === 'revoke') {
      revokedCount = await r.uid.revokeSubtree(node.methodId, node.path, now, 'reuse of a rotated token');
      await sessions.revoke(r, 'subtree', node.id, 'reuse of a rotated token');
    } else {
      await r.uid.flagNode(node.id, now);
    }
    await r.audit.append(
      {
        type: 'uid.token.reuse_detected',
        outcome: 'failure',
        actor,
        resource: `/auth-methods/${method.name}/uid/${node.id}`,
        reason: 'a rotated-away token was presented after its successor was issued',
        data: { policy, revokedCount, nodeId: node.id },
      },
      ctx,
      now,
    );
    r.afterCommit(() => metrics.uidReuseDetected(policy));
  }

  return async function present(
    r: Repos,
    token: string,
    purpose: UidPurpose,
    ctx: RequestContext,
  ): Promise<UidPresentation> {
    const now = clock.nowMs();
    const hash = credentials.hashCredential(token);
    const { credentialRef, wellFormed } = credentialRefOf(token, hash);
    const fail = (reason: AuthFailureReason, extra: AuditActor = {}): UidPresentation => ({
      ok: false,
      reason,
      actor: { credentialRef, ...extra },
    });
    if (!wellFormed) return fail('malformed_uid_token');
    const found = await r.uid.findPresented(hash);
    if (!found) return fail('unknown_uid_token');
    const { credential, node } = found;
    const actor: AuditActor = {
      credentialRef,
      uidNodeId: node.id,
      identityId: node.identityId,
      authMethodId: node.methodId,
    };
    if (node.revokedAtMs !== null) return fail('uid_token_revoked', actor);
    const method = await r.authMethods.get(node.methodId);
    if (!method || !isUidMethod(method)) return fail('auth_method_missing', actor);

    if (credential.state === 'superseded' || credential.state === 'replaced') {
      await onReuse(r, node, method, actor, ctx);
      return fail(`reuse_of_${credential.state}_token`, actor);
    }
    if (node.expiresAtMs <= now) return fail('uid_token_expired', actor);
    // For `auth`, the exchange pipeline applies the method-wide checks itself, once.
    if (purpose !== 'auth') {
      const refused = await refuseReason(
        r,
        method,
        { identityId: node.identityId, identityState: found.identityState },
        ctx,
        now,
      );
      if (refused) return fail(refused, actor);
    }

    let pending: UidCredential | null = null;
    if (credential.state === 'pending') {
      // First use of a rotated token: it becomes current and its predecessor superseded.
      if (await r.uid.transitionCredential(hash, 'pending', 'current', now)) {
        for (const previous of await r.uid.findCredentialsOfNode(node.id, 'current')) {
          if (previous.hash !== hash)
            await r.uid.transitionCredential(previous.hash, 'current', 'superseded', now);
        }
      }
    } else {
      pending = found.pending;
      if (pending && !pending.manualAck) {
        const inGrace = pending.graceUntilMs !== null && now <= pending.graceUntilMs;
        if (!inGrace) return fail('rotated_away_successor_unused', actor);
        if (purpose !== 'rotate') return fail('rotation_pending_use_new_token', actor);
      }
    }
    return {
      ok: true,
      token: { node, method, credential, pending, credentialRef, identityState: found.identityState },
    };
  };
}

export type UidPresenter = ReturnType<typeof createUidPresenter>;

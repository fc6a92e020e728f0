import type { LeakedPassword } from '../../core/rotated-secrets/rotated-secrets.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { Repos } from '../../core/shared/unit-of-work.js';
import type { CredentialKind } from '../../crypto/credentials.js';

/** What a credential hash (or a session token) is, and how to end it. */
export interface Resolved {
  kind: CredentialKind;
  identityId: string | null;
  live: boolean;
  /** Revokes it inside the caller's transaction (no I/O). */
  revoke(reason: string): Promise<void>;
  /** A lease to revoke on its target after the commit (dynamic passwords). */
  leaseId?: string;
  /**
   * The human to alert when it is not the identity's owner: a registration token's own owner (ADR
   * 0052), accountable for it rather than the administrator who issued it.
   */
  owner?: string;
  /** A rotated secret whose password to replace on its target after the commit (ADR 0036). */
  rotated?: { name: string; which: LeakedPassword };
}

export interface ResolveDeps {
  sessions: SessionsService;
  nowMs: () => number;
  /** The keyed hash rotated secrets store for a password, from its SHA-256 hex (ADR 0036). */
  rotatedPasswordRef: (sha256Hex: string) => string;
}

/**
 * Identifies a reported credential by its SHA-256, kind by kind (ADR 0020): a UID token (its node
 * and subtree end, with the sessions derived from them), an access key (the key is cleared and the
 * method's sessions end), an OAuth client secret (that secret expires now, the client's sessions
 * end), a registration access token, an initial access token (ADR 0047), a dynamic password (its lease), a rotated secret's password
 * (by the keyed hash of its SHA-256: ADR 0036). Each step is an indexed look-up.
 */
export async function resolveByHash(r: Repos, hash: string, deps: ResolveDeps): Promise<Resolved | null> {
  const now = deps.nowMs();
  const { sessions } = deps;

  const uid = await r.uid.findCredential(hash);
  if (uid) {
    const node = await r.uid.getNode(uid.nodeId);
    if (node) {
      const live = node.revokedAtMs === null && node.expiresAtMs > now && uid.state !== 'replaced';
      return {
        kind: 'uid_token',
        identityId: node.identityId,
        live,
        async revoke(reason) {
          await r.uid.revokeSubtree(node.methodId, node.path, now, reason);
          await sessions.revoke(r, 'subtree', node.id, reason);
        },
      };
    }
  }

  const method = await r.authMethods.findBySecretHash(hash);
  if (method && method.type === 'access_key') {
    return {
      kind: 'access_key',
      identityId: method.identityId,
      live: method.expiresAtMs === null || method.expiresAtMs > now,
      async revoke(reason) {
        await r.authMethods.update({ ...method, secretHash: null, updatedAtMs: now });
        await sessions.revoke(r, 'method', method.id, reason);
      },
    };
  }

  const secret = await r.oauthClientSecrets.findByHash(hash);
  if (secret) {
    const client = await r.authMethods.get(secret.clientId);
    return {
      kind: 'client_secret',
      identityId: client?.identityId ?? null,
      live: client !== null && (secret.expiresAtMs === null || secret.expiresAtMs > now),
      async revoke(reason) {
        await r.oauthClientSecrets.expire(secret.id, now);
        await sessions.revoke(r, 'method', secret.clientId, reason);
      },
    };
  }

  const registered = await r.oauthRegistrationTokens.clientOfHash(hash);
  if (registered) {
    const client = await r.authMethods.get(registered);
    return {
      kind: 'registration_token',
      identityId: client?.identityId ?? null,
      live: client !== null,
      async revoke() {
        await r.oauthRegistrationTokens.deleteOfClient(registered);
      },
    };
  }

  // An initial access token for dynamic registration (ADR 0047): it ends now; clients it registered stay.
  const initial = await r.oauthInitialAccessTokens.findByHash(hash);
  if (initial) {
    return {
      kind: 'initial_access_token',
      identityId: initial.createdBy,
      owner: initial.owner,
      live:
        initial.revokedAtMs === null &&
        initial.expiresAtMs > now &&
        (initial.maxUses === null || initial.uses < initial.maxUses),
      async revoke() {
        await r.oauthInitialAccessTokens.revoke(initial.id, now);
      },
    };
  }

  const leaseId = await r.leaks.leaseOfCredential(hash);
  const lease = leaseId ? await r.dynamic.getLease(leaseId) : null;
  if (lease) {
    return {
      kind: 'dynamic_password',
      identityId: lease.identityId,
      live: (lease.state === 'active' || lease.state === 'creating') && lease.maxExpiresAtMs > now,
      leaseId: lease.id,
      async revoke() {},
    };
  }

  // A rotated secret's current password, or its previous one while the grace period runs: found by
  // the keyed hash stored at rotation (never the password); replaced on the target after the commit.
  const rotated = await r.rotatedSecrets.findByPasswordHash(deps.rotatedPasswordRef(hash));
  if (rotated) {
    return {
      kind: 'rotated_password',
      identityId: null,
      live: true,
      rotated: { name: rotated.record.name, which: rotated.which },
      async revoke() {},
    };
  }
  return null;
}

/**
 * A session token is not stored: it is identified by its signature (outside any transaction, since
 * the signing keys may have to be reloaded), and revoked by its `jti`.
 */
export async function identifySessionToken(token: string, deps: ResolveDeps) {
  const found = await deps.sessions.identify(token);
  if (!found) return null;
  return (r: Repos): Resolved => ({
    kind: 'session_token',
    identityId: found.claims.sub,
    live: found.live,
    async revoke(reason) {
      await deps.sessions.revoke(r, 'token', found.claims.jti, reason);
    },
  });
}

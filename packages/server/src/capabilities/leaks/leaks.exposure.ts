import { LIVE_STATES } from '../../core/dynamic/dynamic.model.js';
import type { ReadRepos } from '../../core/shared/unit-of-work.js';
import type { CredentialKind } from '../../crypto/credentials.js';
import { describeLocation, type LeakOutcome } from './leaks.model.js';

/** A reported credential of an identity, and whether it still works now (the NHI2 posture fact). */
export interface LeakExposure {
  findingId: string;
  identityId: string;
  kind: CredentialKind;
  outcome: LeakOutcome;
  /** The credential still authenticates (or, for a dynamic password, its account may still exist). */
  live: boolean;
  /** What to revoke: the UID node, the auth method or client, or the lease; null when unknown. */
  credentialId: string | null;
  /** Where it was found, one secret-free line each (`src/app.env:3 @0a1b2c3d4e5f`). */
  where: string[];
  reportCount: number;
  firstReportedAtMs: number;
  lastReportedAtMs: number;
}

type Reads = Pick<ReadRepos, 'leaks' | 'uid' | 'authMethods' | 'oauthClientSecrets' | 'dynamic'>;

/**
 * Whether each leaked credential of these identities is still usable (ADR 0029). A report revokes
 * what is live at once (ADR 0020), so a leak stays exposed only when that could not complete: a
 * dynamic password whose account the target did not drop (the lease is still in a live state), or a
 * credential that is usable again (a lease credential re-remembered, a secret restored). Each check
 * is an indexed look-up by the stored hash, as the report did. Session and registration tokens end
 * for good when reported (the first is short-lived and revoked by `jti`, the second deleted).
 */
export async function leakExposures(
  r: Reads,
  identityIds: readonly string[],
  nowMs: number,
): Promise<LeakExposure[]> {
  const found = await r.leaks.listOfIdentities(identityIds);
  const out: LeakExposure[] = [];
  for (const f of found) {
    if (f.identityId === null) continue;
    const { live, credentialId } = await usable(r, f.kind, f.credentialHash, f.leaseId, nowMs);
    out.push({
      findingId: f.id,
      identityId: f.identityId,
      kind: f.kind,
      outcome: f.outcome,
      live,
      credentialId,
      where: f.locations.map((l) => describeLocation(l)).filter((x): x is string => x !== null),
      reportCount: f.reportCount,
      firstReportedAtMs: f.firstReportedAtMs,
      lastReportedAtMs: f.lastReportedAtMs,
    });
  }
  return out;
}

async function usable(
  r: Reads,
  kind: CredentialKind,
  hash: string,
  leaseId: string | null,
  nowMs: number,
): Promise<{ live: boolean; credentialId: string | null }> {
  switch (kind) {
    case 'uid_token': {
      const credential = await r.uid.findCredential(hash);
      const node = credential ? await r.uid.getNode(credential.nodeId) : null;
      if (!credential || !node) return { live: false, credentialId: null };
      const live = node.revokedAtMs === null && node.expiresAtMs > nowMs && credential.state !== 'replaced';
      return { live, credentialId: node.id };
    }
    case 'access_key': {
      // A revoked key's hash is cleared, so finding the method by it means the key still works.
      const method = await r.authMethods.findBySecretHash(hash);
      if (!method || method.type !== 'access_key') return { live: false, credentialId: null };
      return { live: method.expiresAtMs === null || method.expiresAtMs > nowMs, credentialId: method.id };
    }
    case 'client_secret': {
      const secret = await r.oauthClientSecrets.findByHash(hash);
      if (!secret) return { live: false, credentialId: null };
      const client = await r.authMethods.get(secret.clientId);
      const live = client !== null && (secret.expiresAtMs === null || secret.expiresAtMs > nowMs);
      return { live, credentialId: secret.clientId };
    }
    case 'dynamic_password': {
      const lease = leaseId ? await r.dynamic.getLease(leaseId) : null;
      if (!lease) return { live: false, credentialId: leaseId };
      return { live: LIVE_STATES.includes(lease.state), credentialId: lease.id };
    }
    default:
      return { live: false, credentialId: null };
  }
}

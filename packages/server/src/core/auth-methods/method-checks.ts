import type { IdentityState } from '../identities/identities.model.js';
import { ipAllowed } from '../shared/cidr.js';
import type { RequestContext } from '../shared/context.js';
import type { ReadRepos } from '../shared/unit-of-work.js';
import type { AuthFailureReason } from './auth-method.registry.js';
import type { AuthMethod } from './auth-methods.model.js';

/**
 * Checks shared by every credential of every method type: the method has not expired, the caller's
 * address is within the method's bound CIDRs, and the identity is active. Returns the internal
 * reason for refusal, or null.
 */
export async function refuseReason(
  repos: ReadRepos,
  method: AuthMethod,
  subject: { identityId: string; identityState?: IdentityState | null | undefined },
  ctx: RequestContext,
  nowMs: number,
): Promise<AuthFailureReason | null> {
  if (method.expiresAtMs !== null && method.expiresAtMs <= nowMs) return 'auth_method_expired';
  if (!ipAllowed(method.boundCidrs, ctx.sourceIp)) return 'source_not_in_bound_cidrs';
  const state =
    subject.identityState !== undefined
      ? subject.identityState
      : await repos.identities.getState(subject.identityId);
  if (!state) return 'identity_missing';
  if (state !== 'active') return `identity_${state}`;
  return null;
}

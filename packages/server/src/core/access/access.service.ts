import type { Principal } from '../sessions/sessions.model.js';
import type { Clock } from '../shared/ports.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import {
  type Action,
  ADMIN_RULES,
  type Decision,
  decide,
  type Resource,
  type Rule,
} from './access.policy.js';

const RULE_CACHE_MS = 2000;

/**
 * Resolves a principal's rules (cached briefly per auth method) and decides requests with the
 * pure policy function. Until roles arrive, the bootstrap administrator method holds every
 * capability and other methods hold none beyond their own UID subtree.
 */
export function createAccessService({ uow, clock }: { uow: UnitOfWork; clock: Clock }) {
  const cache = new Map<string, { rules: readonly Rule[]; atMs: number }>();

  async function rulesFor(authMethodId: string): Promise<readonly Rule[]> {
    const now = clock.nowMs();
    const hit = cache.get(authMethodId);
    if (hit && now - hit.atMs < RULE_CACHE_MS) return hit.rules;
    const method = await uow.read((r) => r.authMethods.get(authMethodId));
    const rules = method?.isAdmin ? ADMIN_RULES : [];
    if (cache.size > 10_000) cache.clear();
    cache.set(authMethodId, { rules, atMs: now });
    return rules;
  }

  return {
    rulesFor,
    async authorize(principal: Principal, action: Action, resource: Resource): Promise<Decision> {
      return decide(await rulesFor(principal.authMethodId), action, resource);
    },
    /** Forgets cached rules (after a change to methods or roles). */
    invalidate(authMethodId?: string) {
      if (authMethodId) cache.delete(authMethodId);
      else cache.clear();
    },
  };
}

export type AccessService = ReturnType<typeof createAccessService>;

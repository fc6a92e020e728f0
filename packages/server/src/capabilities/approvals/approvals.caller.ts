import type { Principal } from '../../core/sessions/sessions.model.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { Decider, Requester } from './approvals.model.js';

/** A signed-in person, as the people capability resolves a session (null: not a person's session). */
export interface PersonCaller {
  id: string;
  name: string;
  email: string | null;
  groups: readonly string[];
  admin: boolean;
}

export type PersonOf = (principal: Principal) => Promise<PersonCaller | null>;

export interface ApprovalCaller {
  requester: Requester;
  decider: Decider & { requesterRefs: readonly string[] };
}

/**
 * The caller as a requester and a decider: a person's session (names `person:<id>` and
 * `person:<email>`, IdP groups), else the identity's (an administrator when its auth method is).
 * Shared by every capability that lets owners decide (approvals, access reviews).
 */
export async function resolveCaller(
  uow: UnitOfWork,
  personOf: PersonOf | undefined,
  principal: Principal,
): Promise<ApprovalCaller> {
  const person = personOf ? await personOf(principal) : null;
  if (person) {
    const ref = `person:${person.id}`;
    return {
      requester: { kind: 'person', id: person.id, name: person.email ?? person.name },
      decider: {
        ref,
        names: [ref, ...(person.email ? [`person:${person.email}`] : [])],
        groups: person.groups,
        admin: person.admin,
        // A JIT request from a person's session names the identity it runs under.
        requesterRefs: [ref, `identity:${principal.identityId}`],
      },
    };
  }
  const [identity, method] = await uow.read((r) =>
    Promise.all([r.identities.get(principal.identityId), r.authMethods.get(principal.authMethodId)]),
  );
  const ref = `identity:${principal.identityId}`;
  return {
    requester: { kind: 'identity', id: principal.identityId, name: identity?.name ?? principal.identityId },
    decider: { ref, names: [], groups: [], admin: method?.isAdmin === true, requesterRefs: [ref] },
  };
}

import type { OidcLoginConfig } from '../../config/humans.config.js';
import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import { ADMIN_ROLE_NAME } from '../../core/roles/roles.model.js';
import type { RolesService } from '../../core/roles/roles.service.js';
import type { Principal } from '../../core/sessions/sessions.model.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { RequestContext } from '../../core/shared/context.js';
import { authFailed, notFound } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { PersonCaller } from '../approvals/approvals.caller.js';
import type { OidcRelyingParty, SignedInClaims } from './people.oidc.js';
import type { Person } from './people.repo.js';

/** How long a started sign-in waits for the person to finish it at the IdP. */
const LOGIN_TTL_MS = 10 * 60_000;

/** The Tessera roles a person's groups map to (configuration), sorted and unique. */
export function rolesFor(groups: readonly string[], roleMap: OidcLoginConfig['roleMap']): string[] {
  return [...new Set(groups.flatMap((g) => roleMap[g] ?? []))].sort();
}

export interface PeopleDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  sessions: SessionsService;
  authMethods: AuthMethodsService;
  roles: RolesService;
  config: OidcLoginConfig | null;
  rp: OidcRelyingParty | null;
  log: { warn(obj: object, msg: string): void };
}

export function createPeopleService(deps: PeopleDeps) {
  const { uow, clock, credentials } = deps;
  /** PKCE verifier and nonce derived from the state with the server's key: nothing secret is stored. */
  const derive = (purpose: string, state: string) =>
    credentials.auditRef(`login-${purpose}:${state}`).slice(-64);
  const checksFor = (state: string) => ({
    state,
    nonce: derive('nonce', state),
    verifier: derive('pkce', state),
  });

  const audit = (
    type: string,
    outcome: 'success' | 'failure' | 'denied',
    ctx: RequestContext,
    data: Record<string, unknown>,
    reason?: string,
  ) =>
    uow.write((r) =>
      r.audit.append(
        { type, outcome, actor: {}, resource: '/people', ...(reason ? { reason } : {}), data },
        ctx,
        clock.nowMs(),
      ),
    );

  function enabled() {
    if (!deps.config || !deps.rp) throw notFound('Single sign-on (TESSERA_OIDC_ISSUER is not configured)');
    return { config: deps.config, rp: deps.rp };
  }

  /** The person of the claims: found by issuer and subject, created on first sign-in. */
  async function ensurePerson(claims: SignedInClaims, ctx: RequestContext): Promise<Person> {
    const nowMs = clock.nowMs();
    const existing = await uow.read((r) => r.people.getBySubject(claims.issuer, claims.subject));
    const profile = { email: claims.email, name: claims.name, groups: claims.groups, lastLoginAtMs: nowMs };
    if (existing) {
      await uow.write((r) => r.people.updateProfile(existing.id, profile));
      return { ...existing, ...profile };
    }
    const id = credentials.newId('h-');
    // A person's sessions are issued under an auth method of their own, so the access model,
    // revocation and audit apply unchanged; its access key is never shown to anyone.
    const { method } = await deps.authMethods.create(
      { type: 'access_key', name: `/people/${id}`, owner: `person:${id}`, settings: {} },
      ctx,
    );
    const person: Person = {
      id,
      issuer: claims.issuer,
      subject: claims.subject,
      ...profile,
      authMethodId: method.id,
      createdAtMs: nowMs,
    };
    await uow.write(async (r) => {
      await r.people.insert(person);
      await r.audit.append(
        {
          type: 'person.created',
          outcome: 'success',
          actor: {},
          resource: `/people/${id}`,
          data: { personId: id, issuer: claims.issuer, subject: claims.subject, email: claims.email },
        },
        ctx,
        nowMs,
      );
    });
    return person;
  }

  /** Makes the person's method hold exactly the roles their groups map to. */
  async function syncRoles(person: Person, wanted: readonly string[], ctx: RequestContext) {
    const current = await uow.read((r) => r.roles.listAssociations({ authMethodId: person.authMethodId }));
    for (const a of current) if (!wanted.includes(a.roleName)) await deps.roles.deleteAssociation(a.id, ctx);
    const have = new Set(current.map((a) => a.roleName));
    for (const role of wanted) {
      if (have.has(role)) continue;
      try {
        await deps.roles.associate(role, { id: person.authMethodId }, null, ctx);
      } catch (error) {
        deps.log.warn({ err: error, role }, 'TESSERA_OIDC_ROLE_MAP names a role that cannot be granted');
      }
    }
  }

  return {
    enabled: () => deps.config !== null,

    /** Starts a sign-in: the URL to open, and a poll token only the starter holds. */
    async start(ctx: RequestContext) {
      const { rp } = enabled();
      const state = credentials.newId('st', 32);
      const pollToken = credentials.newId('lp-', 40);
      const nowMs = clock.nowMs();
      const authorizationUrl = await rp.authorizationUrl(checksFor(state));
      const id = credentials.newId('lg-');
      await uow.write(async (r) => {
        await r.people.insertLogin({
          id,
          state,
          pollHash: credentials.hashCredential(pollToken),
          status: 'pending',
          personId: null,
          createdAtMs: nowMs,
          expiresAtMs: nowMs + LOGIN_TTL_MS,
        });
        await r.audit.append(
          {
            type: 'person.login_started',
            outcome: 'success',
            actor: {},
            resource: `/logins/${id}`,
            data: {},
          },
          ctx,
          nowMs,
        );
      });
      return { loginId: id, authorizationUrl, pollToken, expiresAtMs: nowMs + LOGIN_TTL_MS };
    },

    /**
     * The IdP's redirect: `callbackUrl` is the full URL it called. Refused (and audited) when the
     * state is unknown, already used or expired, or when the code, ID token or nonce do not verify.
     */
    async callback(callbackUrl: string, ctx: RequestContext): Promise<Person> {
      const { config, rp } = enabled();
      const state = new URL(callbackUrl).searchParams.get('state') ?? '';
      const login = state ? await uow.read((r) => r.people.getLoginByState(state)) : null;
      const refuse = async (reason: string, data: Record<string, unknown> = {}) => {
        await audit('person.login_refused', 'denied', ctx, { loginId: login?.id ?? null, ...data }, reason);
        return authFailed(reason);
      };
      if (!login) throw await refuse('unknown_state');
      if (login.status !== 'pending') throw await refuse('login_replayed');
      if (clock.nowMs() >= login.expiresAtMs) throw await refuse('login_expired');
      let claims: SignedInClaims;
      try {
        claims = await rp.complete(callbackUrl, checksFor(state));
      } catch (error) {
        throw await refuse('idp_response_invalid', {
          error: error instanceof Error ? error.message.slice(0, 200) : 'unknown',
        });
      }
      const person = await ensurePerson(claims, ctx);
      if (!(await uow.write((r) => r.people.transitionLogin(login.id, 'pending', 'done', person.id))))
        throw await refuse('login_replayed');
      const roles = rolesFor(claims.groups, config.roleMap);
      await syncRoles(person, roles, ctx);
      await uow.write((r) =>
        r.audit.append(
          {
            type: 'person.signed_in',
            outcome: 'success',
            actor: { authMethodId: person.authMethodId },
            resource: `/people/${person.id}`,
            data: {
              personId: person.id,
              email: person.email,
              groups: claims.groups,
              roles,
              loginId: login.id,
            },
          },
          ctx,
          clock.nowMs(),
        ),
      );
      return person;
    },

    /** The starter collects the session once the person has signed in (`pending` until then). */
    async poll(loginId: string, pollToken: string, ctx: RequestContext) {
      const { config } = enabled();
      const login = await uow.read((r) => r.people.getLogin(loginId));
      if (!login || !credentials.equalHashes(login.pollHash, credentials.hashCredential(pollToken)))
        throw authFailed('unknown_login');
      if (clock.nowMs() >= login.expiresAtMs && login.status === 'pending')
        return { status: 'expired' as const };
      if (login.status === 'pending') return { status: 'pending' as const };
      if (login.status !== 'done') throw authFailed('login_collected');
      return uow.write(async (r) => {
        if (!(await r.people.transitionLogin(login.id, 'done', 'collected')))
          throw authFailed('login_collected');
        const person = await r.people.get(login.personId ?? '');
        const method = person ? await r.authMethods.get(person.authMethodId) : null;
        if (!person || !method) throw authFailed('person_missing');
        const issued = deps.sessions.issue(
          { method, identityId: method.identityId },
          { ttlSeconds: config.sessionTtlSeconds },
        );
        await r.audit.append(
          {
            type: 'person.session_issued',
            outcome: 'success',
            actor: { identityId: method.identityId, authMethodId: method.id, tokenId: issued.claims.jti },
            resource: `/people/${person.id}`,
            data: {
              personId: person.id,
              email: person.email,
              expiresAt: new Date(issued.expiresAtMs).toISOString(),
            },
          },
          ctx,
          clock.nowMs(),
        );
        return { status: 'done' as const, token: issued.token, expiresAtMs: issued.expiresAtMs, person };
      });
    },

    /** Ends a session at once on every server (the revocation set). */
    async logout(principal: Principal, ctx: RequestContext) {
      await uow.write(async (r) => {
        if (principal.tokenId) await deps.sessions.revoke(r, 'token', principal.tokenId, 'logout');
        await r.audit.append(
          { type: 'person.logout', outcome: 'success', actor: {}, resource: '/people', data: {} },
          ctx,
          clock.nowMs(),
        );
      });
    },

    /** The person behind a session, for approvals and the console (null: not a person's session). */
    async personOf(principal: Principal): Promise<PersonCaller | null> {
      const person = await uow.read((r) => r.people.getByAuthMethod(principal.authMethodId));
      if (!person) return null;
      const roles = rolesFor(person.groups, deps.config?.roleMap ?? {});
      return {
        id: person.id,
        name: person.name ?? person.email ?? person.id,
        email: person.email,
        groups: person.groups,
        admin: roles.includes(ADMIN_ROLE_NAME),
      };
    },

    /** The person a CIBA `login_hint` names: a person id (`h-…`) or an email. */
    findByHint: (hint: string) =>
      uow.read((r) => (hint.startsWith('h-') ? r.people.get(hint) : r.people.getByEmail(hint))),

    list: (limit: number) => uow.read((r) => r.people.list(limit)),

    /**
     * The names owners can use for known people (`person:<id>`, `person:<email>`) and their IdP
     * groups; null while nobody has signed in (owners are still free text then).
     */
    async ownerDirectory() {
      const people = await uow.read((r) => r.people.list(100_000));
      if (people.length === 0) return null;
      return {
        people: new Set(people.flatMap((p) => [`person:${p.id}`, ...(p.email ? [`person:${p.email}`] : [])])),
        groups: new Set(people.flatMap((p) => p.groups)),
      };
    },
    get: (id: string) => uow.read((r) => r.people.get(id)),
  };
}

export type PeopleService = ReturnType<typeof createPeopleService>;

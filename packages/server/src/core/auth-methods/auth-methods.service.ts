import type { Identity } from '../identities/identities.model.js';
import { assertNotLastAdmin } from '../roles/roles.service.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { isValidCidr } from '../shared/cidr.js';
import type { Page, RequestContext } from '../shared/context.js';
import { conflict, ErrorCodes, notFound, TesseraError, validationError } from '../shared/errors.js';
import type { EventBus } from '../shared/events.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { Repos, UnitOfWork } from '../shared/unit-of-work.js';
import type { AuthMethodRegistry } from './auth-method.registry.js';
import type { AuthMethod, AuthMethodTypeName } from './auth-methods.model.js';

export interface CreateAuthMethodInput {
  type: AuthMethodTypeName;
  name: string;
  identityId?: string;
  owner?: string;
  /**
   * The method must get a new identity of its name: an existing one is refused (a conflict with
   * `internalReason: 'identity_exists'`), checked inside the creating transaction, so an identity
   * created in the same instant is never attached (ADR 0052).
   */
  newIdentityOnly?: boolean;
  boundCidrs?: string[];
  expiresAtMs?: number | null;
  settings: Record<string, unknown>;
}

/** Why `create` refused a `newIdentityOnly` method: an identity of its name exists. */
export const IDENTITY_EXISTS = 'identity_exists';

const identityExists = () =>
  new TesseraError(ErrorCodes.CONFLICT, 'An identity with this name already exists.', {
    internalReason: IDENTITY_EXISTS,
  });

export interface UpdateAuthMethodInput {
  boundCidrs?: string[];
  expiresAtMs?: number | null;
  settings: Record<string, unknown>;
}

export interface AuthMethodsServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  registry: AuthMethodRegistry;
  sessions: SessionsService;
  /** Changes are announced (caches of decisions drop what they held for the method). */
  events: EventBus;
}

function checkCidrs(cidrs: string[] | undefined): string[] {
  const list = cidrs ?? [];
  const bad = list.find((c) => !isValidCidr(c));
  if (bad !== undefined)
    throw validationError('boundCidrs contains an invalid CIDR.', { value: bad.slice(0, 64) });
  return list;
}

/** Create, read, update and delete auth methods. */
export function createAuthMethodsService({
  uow,
  clock,
  credentials,
  registry,
  sessions,
  events,
}: AuthMethodsServiceDeps) {
  function handler(type: string) {
    const h = registry.get(type);
    if (!h)
      throw validationError(`Unknown auth method type; expected one of ${registry.types().join(', ')}.`);
    return h;
  }

  async function ownerIdentity(r: Repos, input: CreateAuthMethodInput, now: number): Promise<Identity> {
    if (input.identityId) {
      const identity = await r.identities.get(input.identityId);
      if (!identity) throw notFound('The identity');
      return identity;
    }
    const existing = await r.identities.getByName(input.name);
    if (existing && input.newIdentityOnly) throw identityExists();
    if (existing) return existing;
    const identity: Identity = {
      id: credentials.newId('i-'),
      name: input.name,
      kind: 'service',
      owner: input.owner ?? 'unassigned',
      environment: null,
      description: `Created with auth method ${input.name}`,
      tags: [],
      state: 'active',
      createdAtMs: now,
      updatedAtMs: now,
      retiredAtMs: null,
      lastUsedAtMs: null,
    };
    await r.identities.insert(identity);
    return identity;
  }

  async function create(
    input: CreateAuthMethodInput & { isAdmin?: boolean },
    ctx: RequestContext,
  ): Promise<{ method: AuthMethod; accessKey: string | null }> {
    const settings = handler(input.type).normaliseSettings(input.settings, null);
    const boundCidrs = checkCidrs(input.boundCidrs);
    const now = clock.nowMs();
    if (input.expiresAtMs !== undefined && input.expiresAtMs !== null && input.expiresAtMs <= now) {
      throw validationError('expiresAt must be in the future.');
    }
    const accessKey = input.type === 'access_key' ? credentials.newAccessKey() : null;
    return uow.write(async (r) => {
      // Checked first, so a name taken by a concurrent creation gives the same reason as one taken before.
      if (input.newIdentityOnly && (await r.identities.getByName(input.name))) throw identityExists();
      if (await r.authMethods.getByName(input.name))
        throw new TesseraError(ErrorCodes.CONFLICT, 'An auth method with this name already exists.', {
          internalReason: 'auth_method_exists',
        });
      const identity = await ownerIdentity(r, input, now);
      const method: AuthMethod = {
        id: credentials.newId('p-'),
        name: input.name,
        type: input.type,
        identityId: identity.id,
        settings,
        secretHash: accessKey ? credentials.hashCredential(accessKey) : null,
        isAdmin: input.isAdmin ?? false,
        boundCidrs,
        expiresAtMs: input.expiresAtMs ?? null,
        createdAtMs: now,
        updatedAtMs: now,
      };
      await r.authMethods.insert(method);
      await events.publish(r, 'auth_method.changed', { authMethodId: method.id, change: 'created' });
      await r.audit.append(
        {
          type: 'auth_method.created',
          outcome: 'success',
          actor: {},
          resource: `/auth-methods/${method.name}`,
          data: {
            authMethodId: method.id,
            methodType: method.type,
            identityId: identity.id,
            admin: method.isAdmin,
          },
        },
        ctx,
        now,
      );
      return { method, accessKey };
    });
  }

  async function get(id: string): Promise<AuthMethod> {
    const method = await uow.read((r) => r.authMethods.get(id));
    if (!method) throw notFound('The auth method');
    return method;
  }

  async function getByName(name: string): Promise<AuthMethod> {
    const method = await uow.read((r) => r.authMethods.getByName(name));
    if (!method) throw notFound('The auth method');
    return method;
  }

  return {
    create,
    get,
    getByName,

    /** Finds a method by access id or by name, whichever is given. */
    async resolve(ref: { id?: string | undefined; name?: string | undefined }): Promise<AuthMethod> {
      if (ref.id) return get(ref.id);
      if (ref.name) return getByName(ref.name);
      throw validationError('Give authMethodId or authMethodName.');
    },

    async list(
      type: AuthMethodTypeName | null,
      limit: number,
      cursor: string | null,
    ): Promise<Page<AuthMethod>> {
      const items = await uow.read((r) => r.authMethods.list(type, limit + 1, cursor));
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? page[page.length - 1]!.id : null };
    },

    async update(id: string, patch: UpdateAuthMethodInput, ctx: RequestContext): Promise<AuthMethod> {
      const boundCidrs = patch.boundCidrs === undefined ? undefined : checkCidrs(patch.boundCidrs);
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const current = await r.authMethods.get(id);
        if (!current) throw notFound('The auth method');
        const next: AuthMethod = {
          ...current,
          settings: handler(current.type).normaliseSettings(patch.settings, current.settings),
          boundCidrs: boundCidrs ?? current.boundCidrs,
          expiresAtMs: patch.expiresAtMs === undefined ? current.expiresAtMs : patch.expiresAtMs,
          updatedAtMs: now,
        };
        await r.authMethods.update(next);
        await events.publish(r, 'auth_method.changed', { authMethodId: id, change: 'updated' });
        await r.audit.append(
          {
            type: 'auth_method.updated',
            outcome: 'success',
            actor: {},
            resource: `/auth-methods/${next.name}`,
            data: {
              authMethodId: id,
              changed: [...Object.keys(patch.settings), ...Object.keys(patch)].sort(),
            },
          },
          ctx,
          now,
        );
        return next;
      });
    },

    /** Deletes a method: every UID token under it is revoked and its session tokens stop working. */
    async delete(id: string, ctx: RequestContext): Promise<void> {
      const now = clock.nowMs();
      await uow.write(async (r) => {
        const current = await r.authMethods.get(id);
        if (!current) throw notFound('The auth method');
        if (current.isAdmin) throw conflict('The bootstrap administrator auth method cannot be deleted.');
        await assertNotLastAdmin(r, id);
        await r.roles.deleteAssociationsOfMethod(id);
        await r.roles.announceChange();
        const revokedNodes = await r.uid.revokeMethod(id, now);
        await sessions.revoke(r, 'method', id, 'auth method deleted');
        await r.authMethods.delete(id);
        await events.publish(r, 'auth_method.changed', { authMethodId: id, change: 'deleted' });
        await r.audit.append(
          {
            type: 'auth_method.deleted',
            outcome: 'success',
            actor: {},
            resource: `/auth-methods/${current.name}`,
            data: { authMethodId: id, revokedUidNodes: revokedNodes },
          },
          ctx,
          now,
        );
      });
    },
  };
}

export type AuthMethodsService = ReturnType<typeof createAuthMethodsService>;

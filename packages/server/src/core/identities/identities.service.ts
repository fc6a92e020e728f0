import type { AuditEvent } from '../audit/audit.model.js';
import type { Page, RequestContext } from '../shared/context.js';
import { conflict, ErrorCodes, notFound, TesseraError } from '../shared/errors.js';
import type { EventBus } from '../shared/events.js';
import type { Clock, CredentialFactory } from '../shared/platform.port.js';
import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { Identity, IdentityFilter, IdentityKind, IdentityState } from './identities.model.js';

export interface CreateIdentityInput {
  name: string;
  kind: IdentityKind;
  owner: string;
  environment?: string | null;
  description?: string | null;
  tags?: string[];
}

export interface UpdateIdentityInput {
  owner?: string;
  environment?: string | null;
  description?: string | null;
  tags?: string[];
  state?: Exclude<IdentityState, 'retired'>;
}

export interface IdentitiesServiceDeps {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  /** Identities that stop being active are announced: sessions, leases… react (ADR 0013). */
  events: EventBus;
}

const normaliseTags = (tags: string[] | undefined) => [...new Set(tags ?? [])].sort();

/** Create, read, list, update and retire identities (the inventory). */
export function createIdentitiesService({ uow, clock, credentials, events }: IdentitiesServiceDeps) {
  const audit = (type: string, identity: Identity, data: Record<string, unknown> = {}): AuditEvent => ({
    type,
    outcome: 'success',
    actor: {},
    resource: `/identities/${identity.name}`,
    data: { identityId: identity.id, ...data },
  });

  async function get(id: string): Promise<Identity> {
    const identity = await uow.read((r) => r.identities.get(id));
    if (!identity) throw notFound('The identity');
    return identity;
  }

  return {
    get,

    async create(input: CreateIdentityInput, ctx: RequestContext): Promise<Identity> {
      const now = clock.nowMs();
      const identity: Identity = {
        id: credentials.newId('i-'),
        name: input.name,
        kind: input.kind,
        owner: input.owner,
        environment: input.environment ?? null,
        description: input.description ?? null,
        tags: normaliseTags(input.tags),
        state: 'active',
        createdAtMs: now,
        updatedAtMs: now,
        retiredAtMs: null,
        lastUsedAtMs: null,
      };
      return uow.write(async (r) => {
        if (await r.identities.getByName(identity.name))
          throw conflict('An identity with this name already exists.');
        await r.identities.insert(identity);
        await r.audit.append(
          audit('identity.created', identity, { kind: identity.kind, owner: identity.owner }),
          ctx,
          now,
        );
        return identity;
      });
    },

    async list(filter: IdentityFilter, limit: number, cursor: string | null): Promise<Page<Identity>> {
      const items = await uow.read((r) => r.identities.list(filter, limit + 1, cursor));
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? page[page.length - 1]!.id : null };
    },

    async update(id: string, patch: UpdateIdentityInput, ctx: RequestContext): Promise<Identity> {
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const current = await r.identities.get(id);
        if (!current) throw notFound('The identity');
        if (current.state === 'retired') {
          throw new TesseraError(ErrorCodes.CONFLICT, 'A retired identity cannot be changed.');
        }
        const next: Identity = {
          ...current,
          owner: patch.owner ?? current.owner,
          environment: patch.environment === undefined ? current.environment : patch.environment,
          description: patch.description === undefined ? current.description : patch.description,
          tags: patch.tags === undefined ? current.tags : normaliseTags(patch.tags),
          state: patch.state ?? current.state,
          updatedAtMs: now,
        };
        await r.identities.update(next);
        if (current.state === 'active' && next.state === 'suspended') {
          await events.publish(r, 'identity.deactivated', { identityId: id, state: 'suspended' });
        }
        await r.audit.append(
          audit('identity.updated', next, { changed: Object.keys(patch).sort() }),
          ctx,
          now,
        );
        return next;
      });
    },

    async retire(id: string, ctx: RequestContext): Promise<Identity> {
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const current = await r.identities.get(id);
        if (!current) throw notFound('The identity');
        if (current.state === 'retired') return current;
        const next: Identity = { ...current, state: 'retired', retiredAtMs: now, updatedAtMs: now };
        await r.identities.update(next);
        await events.publish(r, 'identity.deactivated', { identityId: id, state: 'retired' });
        await r.audit.append(audit('identity.retired', next), ctx, now);
        return next;
      });
    },
  };
}

export type IdentitiesService = ReturnType<typeof createIdentitiesService>;

import { Type } from '@sinclair/typebox';
import type { ConfigKind, ConfigSpec } from '../shared/config-kinds.js';
import type { EventBus } from '../shared/events.js';
import type { CredentialFactory } from '../shared/platform.port.js';
import { IDENTITY_KINDS, type Identity, type IdentityKind } from './identities.model.js';

/** An identity as a configuration file declares it (ADR 0021). */
export interface IdentitySpec extends ConfigSpec {
  name: string;
  kind: IdentityKind;
  owner: string;
  environment: string | null;
  description: string | null;
  tags: string[];
  state: 'active' | 'suspended';
}

const Name = Type.String({ minLength: 1, maxLength: 200, description: 'Unique name of the identity' });

export const IdentitySpecSchema = Type.Object(
  {
    name: Name,
    kind: Type.Union(
      IDENTITY_KINDS.map((k) => Type.Literal(k)),
      { description: 'What the identity is' },
    ),
    owner: Type.String({ minLength: 1, maxLength: 200, description: 'The accountable human (an email)' }),
    environment: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    state: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('suspended')], {
        description: 'Retiring is deleting: leave the identity out (with --allow-delete)',
      }),
    ),
  },
  { additionalProperties: false },
);

const toSpec = (i: Identity): IdentitySpec => ({
  name: i.name,
  kind: i.kind,
  owner: i.owner,
  environment: i.environment,
  description: i.description,
  tags: i.tags,
  state: i.state === 'suspended' ? 'suspended' : 'active',
});

/**
 * Identities as a config kind. Deleting one retires it (identities are never erased: the inventory
 * keeps their history); a retired identity cannot be declared again under its name.
 */
export function identityConfigKind(deps: {
  credentials: CredentialFactory;
  events: EventBus;
}): ConfigKind<IdentitySpec> {
  const event = (type: string, i: Pick<Identity, 'id' | 'name'>, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/identities/${i.name}`,
    data: { identityId: i.id, via: 'config', ...data },
  });
  return {
    key: 'identities',
    label: 'identity',
    description: 'Non-human identities and their owners',
    resourceType: 'identity',
    schema: IdentitySpecSchema,
    normalise: (spec) => ({
      spec: {
        name: spec.name,
        kind: spec.kind,
        owner: spec.owner,
        environment: spec.environment ?? null,
        description: spec.description ?? null,
        tags: [...new Set(spec.tags ?? [])].sort(),
        state: spec.state ?? 'active',
      },
    }),
    async live(r) {
      const out = [];
      let after: string | null = null;
      for (;;) {
        const page = await r.identities.list({}, 1000, after);
        for (const i of page) {
          out.push(
            i.state === 'retired'
              ? { spec: toSpec(i), system: true, note: 'is retired' }
              : { spec: toSpec(i), system: false },
          );
        }
        if (page.length < 1000) return out;
        after = page[page.length - 1]!.id;
      }
    },
    async apply(r, change, ctx, now) {
      if (change.op === 'create') {
        const d = change.desired!;
        const identity: Identity = {
          id: deps.credentials.newId('i-'),
          ...d,
          createdAtMs: now,
          updatedAtMs: now,
          retiredAtMs: null,
          lastUsedAtMs: null,
        };
        await r.identities.insert(identity);
        await r.audit.append(event('identity.created', identity, { kind: d.kind, owner: d.owner }), ctx, now);
        return;
      }
      const current = await r.identities.getByName(change.name);
      if (!current) return undefined;
      if (change.op === 'delete') {
        await r.identities.update({ ...current, state: 'retired', retiredAtMs: now, updatedAtMs: now });
        await deps.events.publish(r, 'identity.deactivated', { identityId: current.id, state: 'retired' });
        await r.audit.append(event('identity.retired', current), ctx, now);
        return undefined;
      }
      const next: Identity = { ...current, ...change.desired!, updatedAtMs: now };
      await r.identities.update(next);
      if (current.state === 'active' && next.state === 'suspended')
        await deps.events.publish(r, 'identity.deactivated', { identityId: current.id, state: 'suspended' });
      await r.audit.append(event('identity.updated', next, { changed: change.fields }), ctx, now);
      return undefined;
    },
  };
}

import { Type } from '@sinclair/typebox';
import { assertNotLastAdmin } from '../roles/roles.service.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { isValidCidr } from '../shared/cidr.js';
import type { ConfigKind, ConfigProblem, ConfigSpec } from '../shared/config-kinds.js';
import { TesseraError } from '../shared/errors.js';
import type { EventBus } from '../shared/events.js';
import type { CredentialFactory } from '../shared/platform.port.js';
import type { AuthMethodRegistry } from './auth-method.registry.js';
import type { AuthMethod, AuthMethodTypeName } from './auth-methods.model.js';

/** An auth method as a configuration file declares it (ADR 0021). */
export interface AuthMethodSpec extends ConfigSpec {
  name: string;
  type: AuthMethodTypeName;
  /** The name of the identity it proves. */
  identity: string;
  boundCidrs: string[];
  /** ISO 8601 UTC, or null. */
  expiresAt: string | null;
  /** Type-specific settings, as `POST /v1/auth-methods` takes them (no secret is ever one). */
  settings: Record<string, unknown>;
}

const canonicalIso = (text: string): string | null => {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && /^\d{4}-\d\d-\d\dT/.test(text) ? new Date(ms).toISOString() : null;
};

/**
 * Auth methods (UID, access key, OAuth client, OIDC federation, and every kind registered later)
 * as a config kind. Settings are completed by the type's own handler, so a kind's defaults and
 * checks are the API's. No secret is declared: an access key created here is returned once by the
 * apply; an OAuth client's secret is issued with `tessera oauth-client rotate-secret`.
 */
export function authMethodConfigKind(deps: {
  registry: AuthMethodRegistry;
  credentials: CredentialFactory;
  sessions: SessionsService;
  events: EventBus;
}): ConfigKind<AuthMethodSpec> {
  const { registry, credentials } = deps;
  const declarable = () => registry.types().filter((t) => !registry.get(t)?.systemOwned);
  const event = (type: string, m: Pick<AuthMethod, 'id' | 'name'>, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/auth-methods/${m.name}`,
    data: { authMethodId: m.id, via: 'config', ...data },
  });

  return {
    key: 'authMethods',
    label: 'auth method',
    description:
      'Auth methods: how each identity proves who it is (UID, access key, OAuth client, federation)',
    resourceType: 'auth-method',
    after: ['identities'],
    immutable: ['type', 'identity'],
    get schema() {
      return Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200 }),
          type: Type.Union(
            declarable().map((t) => Type.Literal(t)),
            { description: 'The kind of auth method' },
          ),
          identity: Type.String({ minLength: 1, maxLength: 200, description: 'Name of its identity' }),
          boundCidrs: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
          expiresAt: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
          settings: Type.Optional(
            Type.Record(Type.String(), Type.Unknown(), {
              description: "Type-specific settings, as the API's POST /v1/auth-methods takes them",
            }),
          ),
        },
        { additionalProperties: false },
      );
    },
    normalise(spec) {
      const problems: ConfigProblem[] = [];
      const handler = registry.get(spec.type);
      if (!handler || handler.systemOwned) {
        problems.push({
          path: ['type'],
          message: `unknown auth method type; expected one of ${declarable().join(', ')}`,
        });
        return { problems };
      }
      const input = spec.settings ?? {};
      let settings: AuthMethod['settings'] | null = null;
      try {
        settings = handler.normaliseSettings(input, null);
      } catch (error) {
        if (!(error instanceof TesseraError)) throw error;
        problems.push({ path: ['settings'], message: error.message });
      }
      const inputForm = settings && (handler.configSettings?.(settings) ?? settings);
      if (inputForm)
        for (const key of Object.keys(input))
          if (!(key in inputForm))
            problems.push({
              path: ['settings', key],
              message: `unknown setting "${key}" for type ${spec.type}`,
            });
      const boundCidrs = spec.boundCidrs ?? [];
      boundCidrs.forEach((c, i) => {
        if (!isValidCidr(c)) problems.push({ path: ['boundCidrs', i], message: `"${c}" is not a CIDR` });
      });
      const expiresAt = spec.expiresAt ? canonicalIso(spec.expiresAt) : null;
      if (spec.expiresAt && !expiresAt)
        problems.push({
          path: ['expiresAt'],
          message: 'expiresAt must be an ISO 8601 time (2027-01-31T00:00:00Z)',
        });
      if (problems.length > 0) return { problems };
      return {
        spec: {
          name: spec.name,
          type: spec.type,
          identity: spec.identity,
          boundCidrs,
          expiresAt,
          settings: inputForm as Record<string, unknown>,
        },
      };
    },
    references: (spec) => [{ kind: 'identities', name: spec.identity, path: ['identity'] }],
    async live(r) {
      const names = new Map<string, string>();
      let after: string | null = null;
      for (;;) {
        const page = await r.identities.list({}, 1000, after);
        for (const i of page) names.set(i.id, i.name);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
      const out = [];
      after = null;
      for (;;) {
        const page = await r.authMethods.list(null, 1000, after);
        for (const m of page) {
          const handler = registry.get(m.type);
          out.push({
            spec: {
              name: m.name,
              type: m.type,
              identity: names.get(m.identityId) ?? m.identityId,
              boundCidrs: m.boundCidrs,
              expiresAt: m.expiresAtMs === null ? null : new Date(m.expiresAtMs).toISOString(),
              settings:
                handler?.configSettings?.(m.settings) ?? (m.settings as unknown as Record<string, unknown>),
            },
            // The bootstrap administrator, and every method a type says the server owns.
            system: m.isAdmin || !handler || handler.systemOwned === true,
          });
        }
        if (page.length < 1000) return out;
        after = page[page.length - 1]!.id;
      }
    },
    async apply(r, change, ctx, now) {
      const d = change.desired;
      if (change.op === 'create' && d) {
        const identity = await r.identities.getByName(d.identity);
        if (!identity) throw new Error(`identity ${d.identity} vanished during apply`);
        const accessKey = d.type === 'access_key' ? credentials.newAccessKey() : null;
        const settings = registry.get(d.type)!.normaliseSettings(d.settings, null);
        const method: AuthMethod = {
          id: credentials.newId('p-'),
          name: d.name,
          type: d.type,
          identityId: identity.id,
          settings,
          secretHash: accessKey ? credentials.hashCredential(accessKey) : null,
          isAdmin: false,
          boundCidrs: d.boundCidrs,
          expiresAtMs: d.expiresAt ? Date.parse(d.expiresAt) : null,
          createdAtMs: now,
          updatedAtMs: now,
        };
        await r.authMethods.insert(method);
        await deps.events.publish(r, 'auth_method.changed', { authMethodId: method.id, change: 'created' });
        await r.audit.append(
          event('auth_method.created', method, {
            methodType: method.type,
            identityId: identity.id,
            admin: false,
          }),
          ctx,
          now,
        );
        return accessKey ? { credential: { accessId: method.id, accessKey } } : undefined;
      }
      const current = await r.authMethods.getByName(change.name);
      if (!current) return undefined;
      if (change.op === 'delete') {
        await assertNotLastAdmin(r, current.id);
        await r.roles.deleteAssociationsOfMethod(current.id);
        await r.roles.announceChange();
        const revokedNodes = await r.uid.revokeMethod(current.id, now);
        await deps.sessions.revoke(r, 'method', current.id, 'auth method deleted');
        await r.authMethods.delete(current.id);
        await deps.events.publish(r, 'auth_method.changed', { authMethodId: current.id, change: 'deleted' });
        await r.audit.append(
          event('auth_method.deleted', current, { revokedUidNodes: revokedNodes }),
          ctx,
          now,
        );
        return undefined;
      }
      const next: AuthMethod = {
        ...current,
        settings: registry.get(current.type)!.normaliseSettings(d!.settings, null),
        boundCidrs: d!.boundCidrs,
        expiresAtMs: d!.expiresAt ? Date.parse(d!.expiresAt) : null,
        updatedAtMs: now,
      };
      await r.authMethods.update(next);
      await deps.events.publish(r, 'auth_method.changed', { authMethodId: current.id, change: 'updated' });
      await r.audit.append(event('auth_method.updated', next, { changed: change.fields }), ctx, now);
      return undefined;
    },
  };
}

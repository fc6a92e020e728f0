import { Type } from '@sinclair/typebox';
import type { ConfigKind, ConfigSpec } from '../../core/shared/config-kinds.js';
import type { Profile, ProfileSettings } from './pki.model.js';
import { ProfileFields } from './pki.routes.js';
import { normaliseProfile } from './pki.service.js';

/** A certificate profile as a configuration file declares it (issue 17, ADR 0021). */
export interface PkiProfileSpec extends ConfigSpec, ProfileSettings {
  name: string;
}

export const PkiProfileSpecSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'The profile name: one segment of `pki:/<name>` in role rules',
    }),
    ...ProfileFields,
  },
  { additionalProperties: false },
);

/** The settings in one order whatever order they were given in: lists are sets. */
const toSpec = (name: string, s: ProfileSettings): PkiProfileSpec => ({
  name,
  maxTtlSeconds: s.maxTtlSeconds,
  defaultTtlSeconds: s.defaultTtlSeconds,
  keyTypes: [...s.keyTypes].sort(),
  keyUsages: [...s.keyUsages].sort(),
  extKeyUsages: [...s.extKeyUsages].sort(),
  spiffeIdPath: s.spiffeIdPath,
  dnsNames: [...s.dnsNames].sort(),
});

/**
 * PKI certificate profiles as a config kind: what `PUT /v1/pki/profiles/:name` takes, with its
 * defaults and checks (`normaliseProfile`), so a file and the API agree. Deleting one leaves the
 * certificates already issued under it alone, as the API does.
 */
export function pkiProfileConfigKind(): ConfigKind<PkiProfileSpec> {
  const event = (type: string, name: string, data: Record<string, unknown> = {}) => ({
    type,
    outcome: 'success' as const,
    actor: {},
    resource: `/pki/${name}`,
    data: { profile: name, via: 'config', ...data },
  });
  return {
    key: 'pkiProfiles',
    label: 'PKI profile',
    description: 'Certificate profiles of the internal CA (what `PUT /v1/pki/profiles/:name` takes)',
    resourceType: 'pki',
    schema: PkiProfileSpecSchema,
    normalise(spec) {
      const { name, ...input } = spec;
      try {
        return { spec: toSpec(name, normaliseProfile(input, null)) };
      } catch (error) {
        const field = (error as { details?: { field?: string } }).details?.field;
        return { problems: [{ path: field ? [field] : [], message: (error as Error).message }] };
      }
    },
    async live(r) {
      return (await r.pki.listProfiles()).map((p) => ({ spec: toSpec(p.name, p), system: false }));
    },
    async apply(r, change, ctx, now) {
      if (change.op === 'delete') {
        await r.pki.deleteProfile(change.name);
        await r.audit.append(event('pki.profile_deleted', change.name), ctx, now);
        return undefined;
      }
      const d = change.desired!;
      const current = await r.pki.getProfile(change.name);
      const { name: _name, ...settings } = d;
      const profile: Profile = {
        ...settings,
        name: change.name,
        createdAtMs: current?.createdAtMs ?? now,
        updatedAtMs: now,
      };
      await r.pki.putProfile(profile);
      await r.audit.append(
        event(current ? 'pki.profile_updated' : 'pki.profile_created', change.name, {
          maxTtlSeconds: profile.maxTtlSeconds,
          spiffeIdPath: profile.spiffeIdPath,
        }),
        ctx,
        now,
      );
      return undefined;
    },
  };
}

import type { ConfigKind, ConfigSpec } from '../../core/shared/config-kinds.js';
import { TesseraError } from '../../core/shared/errors.js';
import type { CredentialFactory } from '../../core/shared/platform.port.js';
import {
  checkResourceServerInput,
  deleteResourceServer,
  insertResourceServer,
  type ResourceServer,
  updateResourceServer,
} from './oauth-resource-servers.js';
import { ResourceServerBody } from './oauth-resource-servers.routes.js';

/** A resource server as a configuration file declares it: what `POST /v1/oauth/resource-servers` takes. */
export interface ResourceServerSpec extends ConfigSpec {
  name: string;
  identifier: string;
  owner: string;
  description: string;
  scopes: string[];
  accessTokenTtlSeconds: number | null;
  senderConstrained: boolean;
}

const toSpec = (rs: ResourceServer): ResourceServerSpec => ({
  name: rs.name,
  identifier: rs.identifier,
  owner: rs.owner,
  description: rs.description,
  scopes: rs.scopes,
  accessTokenTtlSeconds: rs.accessTokenTtlSeconds,
  senderConstrained: rs.senderConstrained,
});

/**
 * OAuth resource servers as a config kind (issue 17, ADR 0038). The identifier is fixed once the
 * resource server exists (it is every issued token's audience); the rest changes in place.
 */
export function resourceServerConfigKind(deps: {
  credentials: CredentialFactory;
}): ConfigKind<ResourceServerSpec> {
  return {
    key: 'resourceServers',
    label: 'resource server',
    description:
      'OAuth resource servers: the audiences RFC 8707 `resource` may name, their scopes and token rules (what `POST /v1/oauth/resource-servers` takes)',
    resourceType: 'resource-server',
    schema: ResourceServerBody,
    immutable: ['identifier'],
    normalise(spec) {
      try {
        return { spec: checkResourceServerInput(spec) as ResourceServerSpec };
      } catch (error) {
        if (!(error instanceof TesseraError)) throw error;
        const field = (error.details as { field?: string } | undefined)?.field;
        return { problems: [{ path: field ? [field] : [], message: error.message }] };
      }
    },
    async live(r) {
      return (await r.oauthResourceServers.list()).map((rs) => ({ spec: toSpec(rs), system: false }));
    },
    async apply(r, change, ctx, now) {
      if (change.op === 'delete') {
        await deleteResourceServer(r, change.name, ctx, now);
        return undefined;
      }
      const d = change.desired!;
      if (change.op === 'create')
        await insertResourceServer(
          r,
          { id: deps.credentials.newId('rs-'), ...d, createdAtMs: now, updatedAtMs: now },
          ctx,
          now,
        );
      else await updateResourceServer(r, change.name, d, ctx, now);
      return undefined;
    },
  };
}

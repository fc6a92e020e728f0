import type { AuthMethodHandler } from '../auth-methods/auth-method.registry.js';
import type { UidSettings } from '../auth-methods/auth-methods.model.js';
import { validationError } from '../shared/errors.js';
import type { UidPresenter } from './uid.presentation.js';
import { normaliseUidSettings } from './uid.settings.js';

const UID_SETTING_KEYS = [
  'ttlSeconds',
  'jwtTtlSeconds',
  'childTtlLimitSeconds',
  'childCountLimit',
  'treeLength',
  'denyRotate',
  'denyInheritance',
  'reusePolicy',
  'rotationGraceSeconds',
];

/** `universal_identity`: exchange a `u-` token for a session token. */
export function createUidAuthMethodHandler(deps: {
  present: UidPresenter;
  maxSessionTtlSeconds: number;
}): AuthMethodHandler {
  return {
    type: 'universal_identity',
    normaliseSettings(input, current) {
      // Settings of other kinds (e.g. an oidc_federation issuer) are refused, not silently dropped.
      const foreign = Object.keys(input).find((k) => !UID_SETTING_KEYS.includes(k));
      if (foreign)
        throw validationError(`universal_identity methods do not take ${foreign}.`, { field: foreign });
      return normaliseUidSettings(input, current as UidSettings | null, deps.maxSessionTtlSeconds);
    },
    async authenticate(repos, presentation, ctx) {
      if (presentation.credential.kind !== 'uid_token')
        return { ok: false, reason: 'wrong_credential_kind', actor: {} };
      const p = await deps.present(repos, presentation.credential.uidToken, 'auth', ctx);
      if (!p.ok) return p;
      const { node, method, credentialRef, identityState } = p.token;
      if (presentation.accessId && presentation.accessId !== method.id) {
        return {
          ok: false,
          reason: 'access_id_does_not_match_token',
          actor: { credentialRef, uidNodeId: node.id },
        };
      }
      return {
        ok: true,
        subject: { method, identityId: node.identityId, node, credentialRef, identityState },
      };
    },
  };
}

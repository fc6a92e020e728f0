import { validationError } from '../shared/errors.js';
import type { CredentialFactory } from '../shared/platform.port.js';
import type { AuthMethodHandler } from './auth-method.registry.js';
import type { AccessKeySettings } from './auth-methods.model.js';

const DEFAULT_JWT_TTL_SECONDS = 3600;

/** `access_key`: an access id and a random key, for administrators and bootstrap. */
export function createAccessKeyHandler(deps: {
  credentials: CredentialFactory;
  maxSessionTtlSeconds: number;
}): AuthMethodHandler {
  const { credentials } = deps;
  return {
    type: 'access_key',
    normaliseSettings(input, current) {
      const foreign = Object.keys(input).find((k) => k !== 'jwtTtlSeconds');
      if (foreign) throw validationError(`access_key methods do not take ${foreign}.`, { field: foreign });
      const previous = current as AccessKeySettings | null;
      const jwt = input.jwtTtlSeconds ?? previous?.jwtTtlSeconds ?? DEFAULT_JWT_TTL_SECONDS;
      if (typeof jwt !== 'number' || !Number.isInteger(jwt) || jwt < 60 || jwt > deps.maxSessionTtlSeconds) {
        throw validationError(
          `jwtTtlSeconds must be an integer between 60 and ${deps.maxSessionTtlSeconds}.`,
        );
      }
      return { jwtTtlSeconds: jwt };
    },
    async authenticate(repos, presentation) {
      const accessId = presentation.accessId ?? '';
      const key = presentation.credential.kind === 'access_key' ? presentation.credential.accessKey : '';
      const presentedHash = credentials.hashCredential(key);
      const method = accessId ? await repos.authMethods.get(accessId) : null;
      // Compare even when the method is missing, so both failures take the same time.
      const storedHash =
        method?.type === 'access_key' && method.secretHash ? method.secretHash : '0'.repeat(64);
      const matches = credentials.equalHashes(storedHash, presentedHash);
      const actor = { authMethodId: method?.id ?? null, credentialRef: credentials.auditRef(key) };
      if (presentation.credential.kind !== 'access_key')
        return { ok: false, reason: 'wrong_credential_kind', actor };
      if (!method) return { ok: false, reason: 'unknown_access_id', actor };
      if (method.type !== 'access_key') return { ok: false, reason: 'wrong_access_type', actor };
      if (!key || !matches) return { ok: false, reason: 'wrong_access_key', actor };
      return {
        ok: true,
        subject: { method, identityId: method.identityId, credentialRef: credentials.auditRef(key) },
      };
    },
  };
}

import { createHmac, hkdfSync } from 'node:crypto';
import type { AuditHasher } from '../core/shared/platform.port.js';
import type { RootKey } from './envelope.js';

/** HKDF label of the audit HMAC key (RFC 5869 `info`): a key used for nothing else. */
export const AUDIT_HMAC_INFO = 'tessera audit hmac v1';

/**
 * The keyed hash of values in audit (Vault's audit-hash, HMAC-SHA256): the key is derived from the
 * root key with HKDF-SHA256, so it is the same on every server sharing the root key, differs across
 * root keys, and is never stored. Without the key a hash cannot be computed, so unlike a plain
 * SHA-256 it cannot be used to test guesses of a low-entropy value.
 */
export function createAuditHasher(rootKey: RootKey): AuditHasher {
  const key = Buffer.from(hkdfSync('sha256', rootKey.material, Buffer.alloc(0), AUDIT_HMAC_INFO, 32));
  return {
    hash: (value) => `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`,
  };
}

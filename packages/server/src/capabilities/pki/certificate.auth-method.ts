import type {
  AuthFailureReason,
  ReadOnlyAuthMethodHandler,
} from '../../core/auth-methods/auth-method.registry.js';
import { type CertificateSettings, isCertificateMethod } from '../../core/auth-methods/auth-methods.model.js';
import { validationError } from '../../core/shared/errors.js';
import type { Clock } from '../../core/shared/platform.port.js';
import type { PeerCertificate } from '../../crypto/certificates.js';

const DEFAULT_TTL_SECONDS = 900;
const SETTINGS = ['jwtTtlSeconds', 'caCertificates', 'boundNames'];

/** What the crypto layer offers (crypto/x509.ts). */
export interface CertificateCrypto {
  read(der: Uint8Array): PeerCertificate | null;
  verifyIssuedBy(der: Uint8Array, caBundlePem: string, nowMs: number): boolean;
  caBundleProblem(bundle: string): string | null;
}

/** `*` matches within one segment (no `/`, no `.`). */
export function nameMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/.]*')}$`,
  );
  return re.test(name);
}

/**
 * `certificate` (issue 13): a client certificate presented over mTLS and verified by the TLS layer
 * is checked again here against the method's CAs (the listener may trust more), then mapped to an
 * identity: an internal-CA certificate to the identity it was issued to — refused once revoked,
 * and (by the pipeline) once that identity is suspended or retired; another CA's certificate to
 * the method's identity when one of its SANs matches `boundNames`.
 */
export function createCertificateHandler(deps: {
  clock: Clock;
  crypto: CertificateCrypto;
  maxSessionTtlSeconds: number;
}): ReadOnlyAuthMethodHandler {
  return {
    type: 'certificate',
    normaliseSettings(input, current): CertificateSettings {
      const foreign = Object.keys(input).find((k) => !SETTINGS.includes(k));
      if (foreign) throw validationError(`certificate methods do not take ${foreign}.`, { field: foreign });
      const previous = current as CertificateSettings | null;
      const ttl = input.jwtTtlSeconds ?? previous?.jwtTtlSeconds ?? DEFAULT_TTL_SECONDS;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 30 || ttl > deps.maxSessionTtlSeconds)
        throw validationError(`jwtTtlSeconds must be between 30 and ${deps.maxSessionTtlSeconds}.`);
      const bundle =
        input.caCertificates === undefined ? (previous?.caCertificates ?? null) : input.caCertificates;
      if (bundle !== null) {
        const problem = typeof bundle === 'string' ? deps.crypto.caBundleProblem(bundle) : 'not a string';
        if (problem) throw validationError(`caCertificates: ${problem}.`, { field: 'caCertificates' });
      }
      const bound = input.boundNames ?? previous?.boundNames ?? [];
      if (!Array.isArray(bound) || bound.some((b) => typeof b !== 'string' || !b))
        throw validationError('boundNames must be a list of name patterns.', { field: 'boundNames' });
      // Without a bound name, every certificate of an outside CA would get in as this identity.
      if (bundle !== null && bound.length === 0)
        throw validationError(
          'A method trusting an outside CA needs boundNames (e.g. spiffe://example.org/*).',
          {
            field: 'boundNames',
          },
        );
      return {
        jwtTtlSeconds: ttl,
        caCertificates: bundle as string | null,
        boundNames: [...new Set(bound as string[])],
      };
    },
    async authenticate(repos, presentation) {
      const credential = presentation.credential;
      if (credential.kind !== 'client_certificate')
        return { ok: false, reason: 'wrong_credential_kind', actor: { authMethodId: null } };
      const method = presentation.accessId ? await repos.authMethods.get(presentation.accessId) : null;
      if (!method) return { ok: false, reason: 'unknown_access_id', actor: { authMethodId: null } };
      const fail = (reason: AuthFailureReason, cert?: PeerCertificate) => ({
        ok: false as const,
        reason,
        actor: { authMethodId: method.id, ...(cert ? { credentialRef: `x5t#S256:${cert.thumbprint}` } : {}) },
        ...(cert
          ? { auditData: { certificate: { serial: cert.serial, subject: cert.subjectDn.slice(0, 300) } } }
          : {}),
      });
      if (!isCertificateMethod(method)) return fail('wrong_access_type');
      if (credential.certificateDer.length === 0) return fail('certificate_missing');
      const cert = deps.crypto.read(credential.certificateDer);
      if (!cert) return fail('certificate_untrusted');
      const s = method.settings;
      const nowMs = deps.clock.nowMs();
      const names = [...cert.uris, ...cert.dnsNames];
      if (s.boundNames.length > 0 && !names.some((n) => s.boundNames.some((p) => nameMatches(p, n))))
        return fail('certificate_name_not_bound', cert);
      let identityId = method.identityId;
      if (s.caCertificates === null) {
        const ca = await repos.pki.getActiveCa();
        if (!ca || !deps.crypto.verifyIssuedBy(credential.certificateDer, ca.certificatePem, nowMs))
          return fail('certificate_untrusted', cert);
        const issued = await repos.pki.getCertificate(cert.serial);
        if (!issued || issued.thumbprint !== cert.thumbprint) return fail('certificate_unknown', cert);
        if (issued.revokedAtMs !== null) return fail('certificate_revoked', cert);
        identityId = issued.identityId;
      } else if (!deps.crypto.verifyIssuedBy(credential.certificateDer, s.caCertificates, nowMs)) {
        return fail('certificate_untrusted', cert);
      }
      return {
        ok: true,
        subject: {
          method,
          identityId,
          credentialRef: `x5t#S256:${cert.thumbprint}`,
          auditData: { certificate: { serial: cert.serial, names: names.slice(0, 10) } },
        },
      };
    },
  };
}

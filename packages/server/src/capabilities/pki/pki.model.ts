import type { ExtKeyUsage, KeyType, KeyUsage } from '../../crypto/certificates.js';

/**
 * The internal CA (issue 13): one active CA per store — a self-signed root, or an intermediate an
 * outside root signed (ADR 0040); its key is sealed in `root_sealed_keys`.
 */
export interface CaRecord {
  id: string;
  /** SPIFFE trust domain (`spiffe://<trustDomain>/…`). */
  trustDomain: string;
  commonName: string;
  certificatePem: string;
  /** The `root_sealed_keys` row holding the private key (PKCS #8, sealed under the root key). */
  keyName: string;
  createdAtMs: number;
  notAfterMs: number;
  /**
   * For an intermediate: the certificates above it (PEM, its issuer first, the outside root last),
   * published with it in the trust bundle. Null for a self-signed root.
   */
  chainPem: string | null;
}

/** An intermediate CA whose key exists (sealed) and whose CSR waits to be signed by an outside root. */
export interface PendingCa {
  id: string;
  trustDomain: string;
  commonName: string;
  csrPem: string;
  keyName: string;
  createdAtMs: number;
}

/**
 * A certificate profile (`/pki/<profile>` in roles): what a certificate issued under it may be.
 * `{identity}` in `spiffeIdPath` and `dnsNames` stands for the requesting identity's name.
 */
export interface ProfileSettings {
  /** A requested TTL above this is refused; between 60 s and 30 days. */
  maxTtlSeconds: number;
  /** Used when the request names no TTL. */
  defaultTtlSeconds: number;
  keyTypes: KeyType[];
  keyUsages: KeyUsage[];
  extKeyUsages: ExtKeyUsage[];
  /** The SPIFFE ID path under the trust domain, e.g. `/workload/{identity}`: the URI SAN. */
  spiffeIdPath: string;
  /** DNS SANs a request may carry (globs: `*` within one label; `{identity}`). Empty: none. */
  dnsNames: string[];
}

export interface Profile extends ProfileSettings {
  name: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface IssuedCertificate {
  serial: string;
  caId: string;
  profile: string;
  identityId: string;
  spiffeId: string;
  thumbprint: string;
  notBeforeMs: number;
  notAfterMs: number;
  revokedAtMs: number | null;
  createdAtMs: number;
}

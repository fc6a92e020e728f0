import { createHash, X509Certificate as NodeX509, randomBytes } from 'node:crypto';

/**
 * Certificates as the TLS side needs them (issue 13, ADR 0024), on node:crypto alone: reading a
 * client certificate, its `x5t#S256`, checking it against CA certificates. Loaded at start; the CA's
 * own operations (signing, CSRs, CRLs) are in `x509.ts`, loaded on first use.
 */

/** Key types a profile may allow for the requester's key. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const KEY_USAGES = ['digitalSignature', 'keyEncipherment', 'keyAgreement'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];
export const EXT_KEY_USAGES = ['clientAuth', 'serverAuth'] as const;
export type ExtKeyUsage = (typeof EXT_KEY_USAGES)[number];

/** PEM of DER bytes under `label`. */
export const toPem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

/** A positive, non-zero 128-bit serial number in hex (RFC 5280 §4.1.2.2: at most 20 octets). */
export function newSerial(): string {
  const bytes = randomBytes(16);
  // 0x40..0x7f: positive, and no leading zero nibble (the hex form is the same from every reader).
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

/** RFC 4514 attribute values: only a conservative set of characters, so a name cannot inject RDNs. */
export const safeNameValue = (value: string) => value.replace(/[^A-Za-z0-9 ._:/@-]/g, '_').slice(0, 64);

export interface PeerCertificate {
  serial: string;
  subjectDn: string;
  issuerDn: string;
  notBeforeMs: number;
  notAfterMs: number;
  uris: string[];
  dnsNames: string[];
  /** `x5t#S256` (RFC 8705 §3.1): base64url SHA-256 of the DER. */
  thumbprint: string;
}

/** The SHA-256 thumbprint of a DER certificate, base64url (RFC 8705 §3.1 `x5t#S256`). */
export const certificateThumbprint = (der: Uint8Array) =>
  createHash('sha256').update(der).digest('base64url');

/** Reads a DER certificate; null when it is not one. */
export function readCertificate(der: Uint8Array): PeerCertificate | null {
  let cert: NodeX509;
  try {
    cert = new NodeX509(der);
  } catch {
    return null;
  }
  const uris: string[] = [];
  const dnsNames: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('URI:')) uris.push(part.slice(4));
    else if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
  }
  return {
    serial: cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    subjectDn: cert.subject.split('\n').reverse().join(','),
    issuerDn: cert.issuer.split('\n').reverse().join(','),
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
    uris,
    dnsNames,
    thumbprint: certificateThumbprint(der),
  };
}

/**
 * Whether `der` was signed by one of the CA certificates (PEM bundle) and is within its validity
 * at `nowMs`. One level: the CAs given are the issuers themselves.
 */
export function verifyIssuedBy(der: Uint8Array, caBundlePem: string, nowMs: number): boolean {
  let cert: NodeX509;
  try {
    cert = new NodeX509(der);
  } catch {
    return false;
  }
  if (Date.parse(cert.validFrom) > nowMs || Date.parse(cert.validTo) <= nowMs) return false;
  for (const pem of splitPemBundle(caBundlePem)) {
    try {
      const ca = new NodeX509(pem);
      if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) return true;
    } catch {
      // not a certificate: ignored (bundles are checked when configured)
    }
  }
  return false;
}

/** Whether a DER certificate is self-signed and within its validity (RFC 8705 §2.2). */
export function isSelfSignedAndCurrent(der: Uint8Array, nowMs: number): boolean {
  try {
    const cert = new NodeX509(der);
    if (Date.parse(cert.validFrom) > nowMs || Date.parse(cert.validTo) <= nowMs) return false;
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** The certificates of a PEM bundle, each as PEM. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Why a PEM bundle is not a list of CA certificates, or null. */
export function caBundleProblem(bundle: string): string | null {
  const pems = splitPemBundle(bundle);
  if (pems.length === 0) return 'no PEM certificate found';
  for (const pem of pems) {
    try {
      if (!new NodeX509(pem).ca) return 'a certificate in the bundle is not a CA certificate';
    } catch {
      return 'a certificate in the bundle cannot be parsed';
    }
  }
  return null;
}

/** Certificate PEM of DER bytes. */
const normalDn = (dn: string) =>
  dn
    .split(/\s*,\s*/)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0 ? rdn : `${rdn.slice(0, eq).trim().toUpperCase()}=${rdn.slice(eq + 1).trim()}`;
    })
    .join(',');

/**
 * RFC 8705 §2.1.2: whether a certificate carries the one name a `tls_client_auth` client is
 * registered with (subject DN, URI SAN or DNS SAN).
 */
export function certificateHasName(
  cert: PeerCertificate,
  expected: { subjectDn?: string | null; sanUri?: string | null; sanDns?: string | null },
): boolean {
  if (expected.subjectDn) return normalDn(cert.subjectDn) === normalDn(expected.subjectDn);
  if (expected.sanUri) return cert.uris.includes(expected.sanUri);
  if (expected.sanDns) return cert.dnsNames.some((d) => d.toLowerCase() === expected.sanDns!.toLowerCase());
  return false;
}

/** RFC 8705 §2.2: the `x5t#S256` of each certificate registered as a JWK's `x5c[0]`. */
export function registeredCertificateThumbprints(jwks: { keys: Record<string, unknown>[] } | null): string[] {
  const out: string[] = [];
  for (const key of jwks?.keys ?? []) {
    const first = Array.isArray(key.x5c) ? key.x5c[0] : undefined;
    if (typeof first === 'string' && first.length < 16_384)
      out.push(certificateThumbprint(Buffer.from(first, 'base64')));
  }
  return out;
}

/**
 * A fresh ECDSA P-256 key and a PKCS #10 request for it (the agent's side of issuance: the private
 * key is made where it is used and never sent). PEMs: PKCS #8 key, CSR.
 */

import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it, before the import below
import { createHash, X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type KeyAlgorithm = webcrypto.KeyAlgorithm;

/**
 * X.509 for the internal certificate authority (issue 13, ADR 0024), on @peculiar/x509 over
 * WebCrypto: the CA key and certificate, issuance from a PKCS #10 request, CRLs, and the checks a
 * client certificate needs. Everything X.509 the server does lives here (only crypto/ imports
 * crypto primitives).
 */

/** The CA signs with ECDSA P-256 / SHA-256: every TLS stack and `openssl` accept it. */
const CA_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Key types a profile may allow for the requester's key. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const KEY_USAGES = ['digitalSignature', 'keyEncipherment', 'keyAgreement'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];
export const EXT_KEY_USAGES = ['clientAuth', 'serverAuth'] as const;
export type ExtKeyUsage = (typeof EXT_KEY_USAGES)[number];

/** A CA as loaded in memory: its certificate, and its private key (non-extractable). */
export interface LoadedCa {
  certificatePem: string;
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** A freshly created CA: the private key as PKCS #8 DER, for the caller to seal at once. */
export interface NewCa {
  certificatePem: string;
  privateKeyPkcs8: Buffer;
  notAfterMs: number;
}

const toPem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

/** A positive, non-zero 128-bit serial number in hex (RFC 5280 §4.1.2.2: at most 20 octets). */
export function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** RFC 4514 attribute values: only a conservative set of characters, so a name cannot inject RDNs. */
export const safeNameValue = (value: string) => value.replace(/[^A-Za-z0-9 ._:/@-]/g, '_').slice(0, 64);

/** Creates a self-signed root CA (basicConstraints CA, pathLen 0; keyCertSign and cRLSign). */
export async function createRootCa(input: {
  commonName: string;
  trustDomain: string;
  nowMs: number;
  ttlSeconds: number;
}): Promise<NewCa> {
  const keys = await webcrypto.subtle.generateKey(CA_ALGORITHM, true, ['sign', 'verify']);
  const notAfter = new Date(input.nowMs + input.ttlSeconds * 1000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=${safeNameValue(input.commonName)}, O=${safeNameValue(input.trustDomain)}`,
    notBefore: new Date(input.nowMs - 60_000),
    notAfter,
    keys,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${input.trustDomain}` }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    certificatePem: certificate.toString('pem'),
    privateKeyPkcs8: pkcs8,
    notAfterMs: notAfter.getTime(),
  };
}

/** Loads a CA from its certificate and unsealed PKCS #8 key (the caller zeroes the key bytes). */
export async function loadCa(certificatePem: string, privateKeyPkcs8: Uint8Array): Promise<LoadedCa> {
  const privateKey = await webcrypto.subtle.importKey('pkcs8', privateKeyPkcs8, CA_ALGORITHM, false, [
    'sign',
  ]);
  return { certificatePem, certificate: new x509.X509Certificate(certificatePem), privateKey };
}

/** What a CSR asks for, once its signature (proof of possession of the key) is checked. */
export interface ParsedCsr {
  keyType: KeyType | null;
  commonName: string | null;
  dnsNames: string[];
  uris: string[];
  /** SANs of other kinds (IP addresses, e-mail, …): a profile refuses them. */
  otherNames: string[];
  /** The opaque request, for issuance. */
  request: x509.Pkcs10CertificateRequest;
}

function keyTypeOf(
  algorithm: KeyAlgorithm & { namedCurve?: string; modulusLength?: number },
): KeyType | null {
  if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-256') return 'ec-p256';
  if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-384') return 'ec-p384';
  if (algorithm.name === 'Ed25519') return 'ed25519';
  if (algorithm.name === 'RSASSA-PKCS1-v1_5' || algorithm.name === 'RSA-PSS') {
    const bits = algorithm.modulusLength ?? 0;
    if (bits === 2048) return 'rsa-2048';
    if (bits === 3072) return 'rsa-3072';
    if (bits === 4096) return 'rsa-4096';
  }
  return null;
}

/** Parses and checks a PEM (or base64 DER) PKCS #10 request; null when malformed or badly signed. */
export async function parseCsr(text: string): Promise<ParsedCsr | null> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(text.trim());
  } catch {
    return null;
  }
  try {
    if (!(await request.verify())) return null;
  } catch {
    return null;
  }
  let keyType: KeyType | null = null;
  try {
    const key = await request.publicKey.export();
    keyType = keyTypeOf(key.algorithm as KeyAlgorithm);
  } catch {
    keyType = null;
  }
  const dnsNames: string[] = [];
  const uris: string[] = [];
  const otherNames: string[] = [];
  const sanRaw = request.getExtension('2.5.29.17');
  let san: x509.SubjectAlternativeNameExtension | null = null;
  try {
    san = sanRaw ? new x509.SubjectAlternativeNameExtension(sanRaw.rawData) : null;
  } catch {
    return null;
  }
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns') dnsNames.push(name.value);
    else if (name.type === 'url') uris.push(name.value);
    else otherNames.push(`${name.type}:${name.value}`);
  }
  const cn = request.subjectName.getField('CN');
  return { keyType, commonName: cn[0] ?? null, dnsNames, uris, otherNames, request };
}

/** Issues a leaf certificate for a checked request, signed by the CA. */
export async function issueCertificate(
  ca: LoadedCa,
  csr: ParsedCsr,
  input: {
    serial: string;
    commonName: string;
    uris: string[];
    dnsNames: string[];
    notBeforeMs: number;
    notAfterMs: number;
    keyUsages: readonly KeyUsage[];
    extKeyUsages: readonly ExtKeyUsage[];
    crlUrl: string | null;
  },
): Promise<{ pem: string; der: Buffer }> {
  const usage = input.keyUsages.reduce(
    (flags, u) => flags | x509.KeyUsageFlags[u as keyof typeof x509.KeyUsageFlags],
    0,
  );
  const eku = input.extKeyUsages.map((u) =>
    u === 'clientAuth' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth,
  );
  const names = [
    ...input.uris.map((value) => ({ type: 'url' as const, value })),
    ...input.dnsNames.map((value) => ({ type: 'dns' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(csr.request.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
  ];
  // X.509-SVID: the SPIFFE ID is the URI SAN; a critical SAN when the subject is otherwise empty.
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (input.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([input.crlUrl]));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: input.serial,
    subject: `CN=${safeNameValue(input.commonName)}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(input.notBeforeMs),
    notAfter: new Date(input.notAfterMs),
    publicKey: csr.request.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: CA_ALGORITHM,
    extensions,
  });
  return { pem: certificate.toString('pem'), der: Buffer.from(certificate.rawData) };
}

/** A CRL (RFC 5280 §5) of the given revoked serials, signed by the CA. */
export async function createCrl(
  ca: LoadedCa,
  input: {
    number: number;
    thisUpdateMs: number;
    nextUpdateMs: number;
    revoked: ReadonlyArray<{ serial: string; revokedAtMs: number }>;
  },
): Promise<{ der: Buffer; pem: string }> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: new Date(input.thisUpdateMs),
    nextUpdate: new Date(input.nextUpdateMs),
    // RFC 5280 §5.1.2.6: no revokedCertificates at all (not an empty list) when none is revoked.
    ...(input.revoked.length
      ? {
          entries: input.revoked.map((r) => ({
            serialNumber: r.serial,
            revocationDate: new Date(r.revokedAtMs),
          })),
        }
      : {}),
    signingKey: ca.privateKey,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
      new x509.Extension('2.5.29.20', false, derInteger(input.number)),
    ],
  });
  const der = Buffer.from(crl.rawData);
  // The PEM label openssl and most relying parties expect (RFC 7468 §5: "X509 CRL").
  return { der, pem: toPem(new Uint8Array(der).buffer as ArrayBuffer, 'X509 CRL') };
}

/** DER INTEGER of a non-negative safe integer (the CRL number, RFC 5280 §5.2.3). */
function derInteger(value: number): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

/** A client certificate as the auth method and RFC 8705 need it. */
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
export const certificatePem = (der: Uint8Array) =>
  toPem(new Uint8Array(der).buffer as ArrayBuffer, 'CERTIFICATE');

/** RFC 4514 names compared loosely: attribute types case-insensitive, no spaces around separators. */
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

import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it, before the import below
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  type ExtKeyUsage,
  type KeyType,
  type KeyUsage,
  newSerial,
  safeNameValue,
  toPem,
} from './certificates.js';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type KeyAlgorithm = webcrypto.KeyAlgorithm;

/**
 * The internal certificate authority's X.509 operations (issue 13, ADR 0024), on @peculiar/x509
 * over WebCrypto: the CA key and certificate, issuance from a PKCS #10 request, CRLs, and a key and
 * CSR for the agent. Loaded on first use (the library is large); reading certificates is in
 * `certificates.ts`.
 */

/** The CA signs with ECDSA P-256 / SHA-256: every TLS stack and `openssl` accept it. */
const CA_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

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

/** A pending intermediate CA: its key (PKCS #8 DER, for the caller to seal at once) and the CSR. */
export interface NewIntermediate {
  csrPem: string;
  privateKeyPkcs8: Buffer;
}

/**
 * The key of an intermediate CA and the CSR an operator gets signed by an outside root (issue 13,
 * ADR 0040). The CSR asks for what the CA needs (basicConstraints CA, pathLen 0; keyCertSign and
 * cRLSign; the trust domain's SPIFFE ID); the outside CA decides what it signs, and
 * `intermediateProblem` checks the result.
 */
export async function createIntermediateCsr(input: {
  commonName: string;
  trustDomain: string;
}): Promise<NewIntermediate> {
  const keys = await webcrypto.subtle.generateKey(CA_ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${safeNameValue(input.commonName)}, O=${safeNameValue(input.trustDomain)}`,
    keys,
    signingAlgorithm: CA_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${input.trustDomain}` }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { csrPem: csr.toString('pem'), privateKeyPkcs8: pkcs8 };
}

function parseCertificates(pem: string): x509.X509Certificate[] | null {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((b) => new x509.X509Certificate(b));
  } catch {
    return null;
  }
}

const isCaCertificate = (cert: x509.X509Certificate) =>
  cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;

/** How far ahead of Tessera's clock an outside CA's clock may be (its certificates' notBefore). */
const OUTSIDE_SKEW_MS = 5 * 60_000;
const within = (cert: x509.X509Certificate, nowMs: number) =>
  cert.notBefore.getTime() <= nowMs + OUTSIDE_SKEW_MS && cert.notAfter.getTime() > nowMs;

async function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== issuer.subject) return false;
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/**
 * Checks the certificate an outside CA signed for a pending intermediate: one certificate, for the
 * pending key (the CSR's public key), a CA certificate that may sign certificates and CRLs, current,
 * and chaining through `chainPem` (its issuers, the root last and self-signed) with every signature
 * checked. Returns the problem in words, or the certificate's expiry and the chain (PEM, in order).
 */
export async function intermediateProblem(input: {
  csrPem: string;
  certificatePem: string;
  chainPem: string;
  nowMs: number;
}): Promise<{ problem: string } | { notAfterMs: number; certificatePem: string; chainPem: string }> {
  const certs = parseCertificates(input.certificatePem);
  if (!certs || certs.length !== 1)
    return { problem: 'certificatePem must hold exactly one PEM certificate (the intermediate)' };
  const cert = certs[0]!;
  const chain = parseCertificates(input.chainPem);
  if (!chain || chain.length === 0 || chain.length > 8)
    return {
      problem: 'chainPem must hold the issuing certificates up to the root (1 to 8 PEM certificates)',
    };
  const csr = new x509.Pkcs10CertificateRequest(input.csrPem);
  if (!Buffer.from(cert.publicKey.rawData).equals(Buffer.from(csr.publicKey.rawData)))
    return { problem: 'the certificate is not for the key of the pending intermediate CA (compare its CSR)' };
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca)
    return { problem: 'the certificate is not a CA certificate (basicConstraints CA:TRUE)' };
  const usages = cert.getExtension(x509.KeyUsagesExtension);
  const needed = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  if (usages && (usages.usages & needed) !== needed)
    return { problem: 'the certificate’s keyUsage must allow keyCertSign and cRLSign' };
  if (!within(cert, input.nowMs)) return { problem: 'the certificate is not valid now (notBefore/notAfter)' };
  let child = cert;
  for (const [i, issuer] of chain.entries()) {
    if (!isCaCertificate(issuer)) return { problem: `chain certificate ${i + 1} is not a CA certificate` };
    if (!within(issuer, input.nowMs)) return { problem: `chain certificate ${i + 1} is not valid now` };
    if (!(await signedBy(child, issuer)))
      return { problem: `chain certificate ${i + 1} did not sign the certificate before it` };
    child = issuer;
  }
  if (!(await signedBy(child, child)))
    return { problem: 'the last chain certificate must be the self-signed root' };
  return {
    notAfterMs: cert.notAfter.getTime(),
    certificatePem: cert.toString('pem'),
    chainPem: chain.map((c) => c.toString('pem')).join('\n'),
  };
}

/** The authority key identifier of what a CA signs: its own subject key identifier when it has one. */
async function authorityKeyId(ca: LoadedCa): Promise<x509.Extension> {
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(ca.certificate);
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
    /** The OCSP responder (RFC 5280 §4.2.2.1 authorityInfoAccess, id-ad-ocsp), or null. */
    ocspUrl?: string | null;
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
    await authorityKeyId(ca),
  ];
  // X.509-SVID: the SPIFFE ID is the URI SAN; a critical SAN when the subject is otherwise empty.
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  if (input.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([input.crlUrl]));
  if (input.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: input.ocspUrl }));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: input.serial,
    subject: `CN=${safeNameValue(input.commonName)}`,
    // The CA's name as encoded in its certificate (an outside root may encode it differently).
    issuer: ca.certificate.subjectName,
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
    issuer: ca.certificate.subjectName,
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
    extensions: [await authorityKeyId(ca), new x509.Extension('2.5.29.20', false, derInteger(input.number))],
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
export async function newKeyAndCsr(commonName?: string): Promise<{ keyPem: string; csrPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // No subject by default: the CA names the certificate after the identity (SPIFFE ID, CN).
    name: commonName ? `CN=${safeNameValue(commonName)}` : '',
    keys,
    signingAlgorithm: algorithm,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

/** WebCrypto parameters making and signing with a key of each profile key type. */
const KEY_ALGORITHMS: Record<KeyType, { name: string } & Record<string, unknown>> = {
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'ec-p384': { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  ed25519: { name: 'Ed25519' },
  'rsa-2048': rsa(2048),
  'rsa-3072': rsa(3072),
  'rsa-4096': rsa(4096),
};
function rsa(modulusLength: number) {
  return {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  };
}

/**
 * A key pair of the given type made on the server, and a CSR for it (issuance "with a key Tessera
 * generates", only when asked: ADR 0035). The private key is returned as PKCS #8 PEM for the
 * requester, once; the caller never stores it.
 */
export async function newKeyAndCsrOfType(
  keyType: KeyType,
  names: { dnsNames: string[] },
): Promise<{ keyPem: string; csrPem: string }> {
  const algorithm = KEY_ALGORITHMS[keyType];
  const keys = (await webcrypto.subtle.generateKey(algorithm as never, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // No subject: the CA names the certificate after the identity (CN, SPIFFE ID).
    name: '',
    keys,
    signingAlgorithm: algorithm as never,
    extensions:
      names.dnsNames.length > 0
        ? [new x509.SubjectAlternativeNameExtension(names.dnsNames.map((value) => ({ type: 'dns', value })))]
        : [],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: toPem(pkcs8, 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

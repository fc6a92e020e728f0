import { createHash, webcrypto } from 'node:crypto';
import {
  BasicOCSPResponse,
  type CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, Extension } from '@peculiar/asn1-x509';
import { AsnEcSignatureFormatter } from '@peculiar/x509';
import type { LoadedCa } from './x509.js';

/**
 * The internal CA's OCSP responder (RFC 6960; issue 13, ADR 0026): parses a request, and signs a
 * BasicOCSPResponse with the CA key itself (§4.2.2.2: the CA may sign for its own certificates, so
 * no delegated responder certificate is needed). Loaded on first use, with `x509.ts`.
 */

/** The hash algorithms a CertID may use (§4.1.1; openssl sends SHA-1 by default). */
const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
/** Requests are small: one certificate, a nonce. Larger ones are refused before parsing. */
export const OCSP_REQUEST_MAX_BYTES = 8192;
/** At most this many certificates per request. */
const MAX_REQUESTS = 20;

/** One certificate asked about: the CertID as received, and whether it names this CA. */
export interface OcspQuery {
  certId: CertID;
  /** Lower-case hex without leading zeros, as the store keys serials. */
  serial: string;
  /** The CertID's issuer hashes match this CA under the algorithm it names. */
  thisIssuer: boolean;
}

export interface ParsedOcspRequest {
  queries: OcspQuery[];
  nonce: ArrayBuffer | null;
}

export type OcspStatus =
  | { status: 'good' }
  | { status: 'revoked'; revokedAtMs: number }
  | { status: 'unknown' };

/** Per CA: its DN (DER) and public key bits, and their hashes by algorithm (parsed once). */
const caParts = new WeakMap<
  LoadedCa,
  { nameDer: Buffer; keyBits: Buffer; hashes: Map<string, { name: Buffer; key: Buffer }> }
>();
function partsOf(ca: LoadedCa) {
  let parts = caParts.get(ca);
  if (!parts) {
    const cert = AsnConvert.parse(ca.certificate.rawData, Certificate);
    parts = {
      nameDer: Buffer.from(AsnConvert.serialize(cert.tbsCertificate.subject)),
      keyBits: Buffer.from(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
      hashes: new Map(),
    };
    caParts.set(ca, parts);
  }
  return parts;
}

function issuerHashes(ca: LoadedCa, hash: string): { name: Buffer; key: Buffer } {
  const parts = partsOf(ca);
  let hashes = parts.hashes.get(hash);
  if (!hashes) {
    // §4.1.1: the hash of the issuer's DN (DER) and of its public key BIT STRING value.
    hashes = {
      name: createHash(hash).update(parts.nameDer).digest(),
      key: createHash(hash).update(parts.keyBits).digest(),
    };
    parts.hashes.set(hash, hashes);
  }
  return hashes;
}

/** The serial as the store keys it: lower-case hex, no leading zeros. */
function serialHex(bytes: ArrayBuffer): string {
  const hex = Buffer.from(bytes)
    .toString('hex')
    .replace(/^0+(?=.)/, '');
  return hex.length === 0 ? '0' : hex;
}

/** Parses a DER OCSPRequest; null when malformed (the responder answers `malformedRequest`). */
export function parseOcspRequest(ca: LoadedCa | null, der: Uint8Array): ParsedOcspRequest | null {
  if (der.length === 0 || der.length > OCSP_REQUEST_MAX_BYTES) return null;
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(der, OCSPRequest);
  } catch {
    return null;
  }
  const list = request.tbsRequest.requestList;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_REQUESTS) return null;
  const queries: OcspQuery[] = [];
  for (const { reqCert } of list) {
    const hash = HASHES[reqCert.hashAlgorithm.algorithm];
    let thisIssuer = false;
    if (hash && ca) {
      const mine = issuerHashes(ca, hash);
      thisIssuer =
        mine.name.equals(Buffer.from(reqCert.issuerNameHash.buffer)) &&
        mine.key.equals(Buffer.from(reqCert.issuerKeyHash.buffer));
    }
    queries.push({ certId: reqCert, serial: serialHex(reqCert.serialNumber), thisIssuer });
  }
  let nonce: ArrayBuffer | null = null;
  for (const ext of request.tbsRequest.requestExtensions ?? [])
    if (ext.extnID === id_pkix_ocsp_nonce) {
      const value = ext.extnValue.buffer;
      // RFC 8954 §2.1: 1 to 32 octets; a longer nonce is not echoed (the client may then refuse).
      if (value.byteLength >= 1 && value.byteLength <= 34) nonce = value;
    }
  return { queries, nonce };
}

/** A response carrying only an error status (§4.2.1: no responseBytes, unsigned). */
export function ocspErrorResponse(
  status: 'malformedRequest' | 'internalError' | 'tryLater' | 'unauthorized',
): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })));
}

/** Signs a successful BasicOCSPResponse (§4.2.1) for the given statuses, with the CA key. */
export async function signOcspResponse(
  ca: LoadedCa,
  input: {
    answers: ReadonlyArray<{ certId: CertID; status: OcspStatus }>;
    producedAtMs: number;
    thisUpdateMs: number;
    nextUpdateMs: number;
    nonce: ArrayBuffer | null;
  },
): Promise<Buffer> {
  const keyHash = issuerHashes(ca, 'sha1').key;
  const responses = input.answers.map(
    ({ certId, status }) =>
      new SingleResponse({
        certID: certId,
        certStatus: new CertStatus(
          status.status === 'good'
            ? { good: null }
            : status.status === 'revoked'
              ? {
                  revoked: new RevokedInfo({
                    // RFC 5280 §4.1.2.5.2: GeneralizedTime without fractional seconds.
                    revocationTime: new Date(Math.floor(status.revokedAtMs / 1000) * 1000),
                  }),
                }
              : { unknown: null },
        ),
        thisUpdate: new Date(input.thisUpdateMs),
        nextUpdate: new Date(input.nextUpdateMs),
      }),
  );
  const tbs = new ResponseData({
    // §4.2.2.3: byKey, the SHA-1 of the responder's public key (here the CA's).
    responderID: new ResponderID({ byKey: new OctetString(keyHash) }),
    producedAt: new Date(input.producedAtMs),
    responses,
    ...(input.nonce
      ? {
          responseExtensions: [
            new Extension({
              extnID: id_pkix_ocsp_nonce,
              critical: false,
              extnValue: new OctetString(input.nonce),
            }),
          ],
        }
      : {}),
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const raw = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ca.privateKey, tbsDer);
  const signature = new AsnEcSignatureFormatter().toAsnSignature(
    { name: 'ECDSA', namedCurve: 'P-256' } as { name: string },
    raw,
  );
  if (!signature) throw new Error('could not encode the OCSP signature');
  const basic = new BasicOCSPResponse({
    tbsResponseData: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    signature,
  });
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({
      responseType: id_pkix_ocsp_basic,
      response: new OctetString(AsnConvert.serialize(basic)),
    }),
  });
  return Buffer.from(AsnConvert.serialize(response));
}

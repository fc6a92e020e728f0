/**
 * DPoP proof verification for resource servers (RFC 9449 §4.3, §7.1) with WebCrypto only: the
 * proof's signature by the key in its header, `typ`, `htm`, `htu`, `iat`, `ath`, a single-use `jti`
 * (remembered in memory by the caller), and the key's RFC 7638 thumbprint, to compare with the
 * token's `cnf.jkt`.
 *
 * @packageDocumentation
 */

import { TesseraTokenError } from './errors.js';

/** What a request proved beside its access token. */
export interface SenderProof {
  /** The `DPoP` request header. */
  dpopProof?: string | undefined;
  /** The request method, e.g. `GET`. */
  method: string;
  /** The request URL (query and fragment are ignored). */
  url: string;
  /**
   * The client certificate of the request's TLS connection (DER, e.g. Node's
   * `socket.getPeerCertificate().raw`), for certificate-bound tokens (RFC 8705 §3).
   */
  clientCertificate?: Uint8Array | undefined;
}

/** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of a DER certificate. */
export async function certificateThumbprint(der: Uint8Array): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', der as Uint8Array<ArrayBuffer>));
}

const ALGORITHMS: Record<
  string,
  {
    import: AlgorithmIdentifier | EcKeyImportParams | RsaHashedImportParams;
    verify: AlgorithmIdentifier | EcdsaParams | RsaPssParams;
    kty: string;
  }
> = {
  ES256: {
    import: { name: 'ECDSA', namedCurve: 'P-256' },
    verify: { name: 'ECDSA', hash: 'SHA-256' },
    kty: 'EC',
  },
  EdDSA: { import: { name: 'Ed25519' }, verify: { name: 'Ed25519' }, kty: 'OKP' },
  Ed25519: { import: { name: 'Ed25519' }, verify: { name: 'Ed25519' }, kty: 'OKP' },
  RS256: {
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    verify: { name: 'RSASSA-PKCS1-v1_5' },
    kty: 'RSA',
  },
  PS256: {
    import: { name: 'RSA-PSS', hash: 'SHA-256' },
    verify: { name: 'RSA-PSS', saltLength: 32 },
    kty: 'RSA',
  },
};
/** The RFC 7638 members of each key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextEncoder();

const invalid = (reason: string) => new TesseraTokenError('TESSERA_TOKEN_INVALID', `DPoP: ${reason}`);

function bytes(segment: string): Uint8Array<ArrayBuffer> {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) throw invalid('bad base64url');
  const bin = atob(segment.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((segment.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function base64url(data: ArrayBuffer): string {
  let bin = '';
  for (const b of new Uint8Array(data)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function json(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes(segment)));
  } catch {
    throw invalid('not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid('not an object');
  return value as Record<string, unknown>;
}

const withoutQuery = (url: string) => url.split(/[?#]/, 1)[0] as string;

/** RFC 7638 SHA-256 thumbprint of a public JWK, base64url. */
export async function jwkThumbprint(jwk: Record<string, unknown>): Promise<string> {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members) throw invalid('unsupported key type');
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return base64url(await crypto.subtle.digest('SHA-256', ascii.encode(canonical)));
}

/**
 * Verifies a DPoP proof presented with `accessToken`; returns its key's thumbprint and `jti`.
 * Throws `TESSERA_TOKEN_INVALID` for anything else.
 */
export async function verifyDpopProof(
  proof: string,
  expected: {
    method: string;
    url: string;
    accessToken: string;
    nowSeconds: number;
    iatWindowSeconds: number;
  },
): Promise<{ jkt: string; jti: string }> {
  if (typeof proof !== 'string' || proof.length > 8192) throw invalid('missing or too long');
  const parts = proof.split('.');
  if (parts.length !== 3) throw invalid('not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = json(h);
  if (header.typ !== 'dpop+jwt') throw invalid('typ is not dpop+jwt');
  if (header.crit !== undefined) throw invalid('unsupported crit');
  const alg = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
  if (!alg) throw invalid('alg not allowed');
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (!jwk || typeof jwk !== 'object' || jwk.kty !== alg.kty) throw invalid('no public jwk for the alg');
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw invalid('the jwk is not a public key');
  const members = THUMBPRINT_MEMBERS[alg.kty] as string[];
  const publicJwk: JsonWebKey = Object.fromEntries(members.map((m) => [m, jwk[m]]));
  if (members.some((m) => typeof jwk[m] !== 'string')) throw invalid('incomplete jwk');
  let ok: boolean;
  try {
    const key = await crypto.subtle.importKey('jwk', publicJwk, alg.import, false, ['verify']);
    ok = await crypto.subtle.verify(alg.verify, key, bytes(s), ascii.encode(`${h}.${p}`));
  } catch {
    throw invalid('the key or signature is malformed');
  }
  if (!ok) throw invalid('the signature does not verify');
  const payload = json(p);
  if (payload.htm !== expected.method) throw invalid('htm does not match');
  if (typeof payload.htu !== 'string' || withoutQuery(payload.htu) !== withoutQuery(expected.url))
    throw invalid('htu does not match');
  if (
    typeof payload.iat !== 'number' ||
    Math.abs(payload.iat - expected.nowSeconds) > expected.iatWindowSeconds
  )
    throw invalid('iat is outside the window');
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256)
    throw invalid('bad jti');
  const ath = base64url(await crypto.subtle.digest('SHA-256', ascii.encode(expected.accessToken)));
  if (payload.ath !== ath) throw invalid('ath does not match the access token');
  return { jkt: await jwkThumbprint(jwk), jti: payload.jti };
}

const SIGNING: Record<string, { sign: AlgorithmIdentifier | EcdsaParams | RsaPssParams }> = {
  ES256: { sign: { name: 'ECDSA', hash: 'SHA-256' } },
  EdDSA: { sign: { name: 'Ed25519' } },
  Ed25519: { sign: { name: 'Ed25519' } },
  PS256: { sign: { name: 'RSA-PSS', saltLength: 32 } },
  RS256: { sign: { name: 'RSASSA-PKCS1-v1_5' } },
};

function encodeJson(value: unknown): string {
  return base64url(ascii.encode(JSON.stringify(value)).buffer as ArrayBuffer);
}

/**
 * Creates a DPoP proof (RFC 9449 §4.2) for one request with a WebCrypto key pair whose public key
 * is extractable (e.g. `crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true,
 * ['sign', 'verify'])`). Give `accessToken` when the proof goes with it (`ath`), and the server's
 * `DPoP-Nonce` when it asked for one.
 */
export async function createDpopProof(
  keyPair: CryptoKeyPair,
  request: {
    method: string;
    url: string;
    accessToken?: string;
    nonce?: string;
    alg?: 'ES256' | 'EdDSA' | 'PS256' | 'RS256';
  },
): Promise<string> {
  const exported = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
  const kty = String(exported.kty);
  const alg = request.alg ?? (kty === 'EC' ? 'ES256' : kty === 'OKP' ? 'EdDSA' : 'PS256');
  const members = THUMBPRINT_MEMBERS[kty];
  if (!members) throw new TypeError('createDpopProof: unsupported key type');
  const jwk = Object.fromEntries(members.map((m) => [m, (exported as Record<string, unknown>)[m]]));
  const idBytes = crypto.getRandomValues(new Uint8Array(16));
  const payload: Record<string, unknown> = {
    htm: request.method,
    htu: withoutQuery(request.url),
    iat: Math.floor(Date.now() / 1000),
    jti: base64url(idBytes.buffer as ArrayBuffer),
    ...(request.nonce ? { nonce: request.nonce } : {}),
    ...(request.accessToken
      ? { ath: base64url(await crypto.subtle.digest('SHA-256', ascii.encode(request.accessToken))) }
      : {}),
  };
  const input = `${encodeJson({ typ: 'dpop+jwt', alg, jwk })}.${encodeJson(payload)}`;
  const signing = SIGNING[alg] as { sign: AlgorithmIdentifier };
  const signature = await crypto.subtle.sign(signing.sign, keyPair.privateKey, ascii.encode(input));
  return `${input}.${base64url(signature)}`;
}

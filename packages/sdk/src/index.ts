/**
 * `@tessera/sdk`: a runtime-neutral TypeScript client for Tessera (fetch + WebCrypto only).
 *
 * - {@link TesseraClient}: one typed call per route of the native HTTP API.
 * - {@link TesseraSession}: session tokens from an access key or a UID token, cached and renewed;
 *   safe UID rotation through a {@link UidTokenStore}.
 * - {@link SessionTokenVerifier}: local verification of session tokens against the JWKS.
 *
 * @packageDocumentation
 */

export type { FetchLike, RequestOptions, TesseraClientOptions } from './client.js';
export { bareCredential, TesseraClient } from './client.js';
export type { FoundCredential, TesseraCredentialKind } from './credential-shapes.js';
export {
  DYNAMIC_PASSWORD_PREFIX,
  findTesseraCredentials,
  maskSecret,
  ROTATED_PASSWORD_PREFIX,
  recogniseTesseraCredential,
  TESSERA_CREDENTIAL_KINDS,
} from './credential-shapes.js';
export type { SenderProof } from './dpop.js';
export { createDpopProof, jwkThumbprint, verifyDpopProof } from './dpop.js';
export type { TesseraNetworkErrorCode, TesseraTokenErrorCode } from './errors.js';
export {
  isSessionTokenRejection,
  TesseraApiError,
  TesseraError,
  TesseraNetworkError,
  TesseraPersistError,
  TesseraTokenError,
} from './errors.js';
export type {
  CachedSession,
  CreateChildOptions,
  SessionCache,
  SessionCredentials,
  TesseraSessionOptions,
  UidRotationResult,
  UidTokenStore,
} from './session.js';
export { MemoryUidTokenStore, TesseraSession } from './session.js';
export { hmacSha256Hex, sha256Hex } from './sha256.js';
export type { SessionTokenClaims, SessionTokenVerifierOptions } from './verifier.js';
export { SessionTokenVerifier } from './verifier.js';
export type * from './wire.js';

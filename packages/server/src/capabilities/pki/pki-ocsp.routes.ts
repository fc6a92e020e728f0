import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { TypedApp } from '../../http/app.js';
import type { PkiService } from './pki.service.js';

/** The OCSP responder of the internal CA (RFC 6960; system door, no credential). */
export const OCSP_PATH = '/pki/ocsp';
/** RFC 6960 Appendix A.1: an OCSP request is small; anything larger is refused before parsing. */
const OCSP_BODY_LIMIT_BYTES = 8192;
/** The base64 of a request at that limit, URL-encoded (each of `+/=` may be three characters). */
const OCSP_GET_MAX_CHARS = Math.ceil((OCSP_BODY_LIMIT_BYTES * 4) / 3) * 3;

const tags = ['pki'];

function send(reply: FastifyReply, der: Buffer, cacheable: boolean) {
  reply.type('application/ocsp-response');
  // RFC 5019 §6.2: GET answers may be cached, but only briefly here (revocation is immediate).
  reply.header('cache-control', cacheable ? 'max-age=60, public, no-transform, must-revalidate' : 'no-store');
  return reply.send(der);
}

/** Base64 (RFC 6960 A.1 says base64 then URL-encoding; base64url is accepted too); null if not. */
function decodeGetRequest(raw: string): Buffer | null {
  if (raw.length === 0 || raw.length > OCSP_GET_MAX_CHARS) return null;
  let text = raw;
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return null;
    }
  }
  text = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/**
 * `POST /pki/ocsp` with an `application/ocsp-request` body, and `GET /pki/ocsp/<base64 request>`
 * (RFC 6960 Appendix A.1). Answers are always OCSP responses (`malformedRequest` for garbage,
 * `unauthorized` when no CA exists), as OCSP clients expect, never a JSON error.
 */
export function registerOcspRoutes(app: TypedApp, deps: { pki: PkiService }) {
  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/ocsp-request',
      { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      OCSP_PATH,
      {
        config: { access: { public: true }, errorProtocol: 'ocsp' },
        bodyLimit: OCSP_BODY_LIMIT_BYTES,
        schema: {
          tags,
          summary: 'OCSP responder (RFC 6960), POST form: an application/ocsp-request body',
          security: [],
          consumes: ['application/ocsp-request'],
        },
      },
      async (request, reply) => {
        const body = request.body as Buffer;
        return send(reply, await deps.pki.ocsp(body), false);
      },
    );
    scope.get(
      `${OCSP_PATH}/*`,
      {
        config: { access: { public: true }, errorProtocol: 'ocsp' },
        schema: {
          tags,
          summary: 'OCSP responder (RFC 6960 A.1), GET form: the URL-encoded base64 DER request',
          security: [],
          params: Type.Object({ '*': Type.String({ maxLength: OCSP_GET_MAX_CHARS }) }),
        },
      },
      async (request, reply) => {
        const der = decodeGetRequest((request.params as { '*': string })['*']);
        return send(reply, await deps.pki.ocsp(der ?? new Uint8Array()), der !== null);
      },
    );
  });
}

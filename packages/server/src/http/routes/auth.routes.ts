import { AuthBody, AuthResponse, credentialFromBody } from '../../core/auth/auth.schemas.js';
import type { AuthService } from '../../core/auth/auth.service.js';
import { createIsoFormatter } from '../../core/shared/iso-time.js';
import type { TypedApp } from '../app.js';
import { errorResponses } from '../error-schemas.js';
import { presentedCertificate } from '../tls.js';

/** `POST /v1/auth`: exchange an access key or a UID token for a session token. */
export function registerAuthRoutes(app: TypedApp, deps: { authenticate: AuthService }) {
  const isoExpiry = createIsoFormatter();
  app.post(
    '/v1/auth',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a credential for a session token',
        description:
          'Every failed presentation answers the same 401 TESSERA_AUTH_FAILED; the precise reason is in the audit log.',
        body: AuthBody,
        response: { 200: AuthResponse, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request) => {
      const result = await deps.authenticate(
        credentialFromBody(request.body, presentedCertificate(request)?.der ?? null),
        request.ctx,
      );
      return {
        token: result.token,
        tokenType: 'Bearer' as const,
        expiresIn: result.claims.exp - result.claims.iat,
        expiresAt: isoExpiry(result.expiresAtMs),
        identityId: result.subject.identityId,
        authMethodId: result.subject.method.id,
        ...(result.subject.node ? { uidTokenId: result.subject.node.id } : {}),
      };
    },
  );
}

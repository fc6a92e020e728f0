import { type Static, Type } from '@sinclair/typebox';
import type { CredentialPresentation } from '../auth-methods/auth-method.registry.js';
import { validationError } from '../shared/errors.js';
import { AccessId, IsoTime, StringEnum, Token } from '../shared/schemas.js';

/**
 * One object rather than a union per access type, so a wrong `accessType` is reported as such;
 * the fields each type needs are checked by {@link credentialFromBody}.
 */
export const AuthBody = Type.Object(
  {
    accessType: StringEnum(
      ['access_key', 'universal_identity', 'oidc_federation', 'certificate'] as const,
      'How the caller proves who it is.',
    ),
    accessId: Type.Optional(AccessId),
    accessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    uidToken: Type.Optional(Token),
    jwt: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 16_384,
        description: 'oidc_federation: the workload JWT of a trusted external issuer.',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Checks the fields the access type needs and returns the presentation. `certificate` takes the
 * client certificate the TLS layer verified (DER), never one from the body.
 */
export function credentialFromBody(
  body: Static<typeof AuthBody>,
  tlsCertificateDer: Uint8Array | null = null,
): CredentialPresentation {
  if (body.accessType === 'certificate') {
    if (!body.accessId)
      throw validationError('accessType certificate needs accessId (and a client certificate over TLS).', {
        field: 'accessId',
      });
    return {
      accessType: 'certificate',
      accessId: body.accessId,
      credential: {
        kind: 'client_certificate',
        clientId: null,
        certificateDer: tlsCertificateDer ?? new Uint8Array(),
      },
    };
  }
  if (body.accessType === 'access_key') {
    if (!body.accessId || !body.accessKey)
      throw validationError('accessType access_key needs accessId and accessKey.', { field: 'accessKey' });
    return {
      accessType: 'access_key',
      accessId: body.accessId,
      credential: { kind: 'access_key', accessKey: body.accessKey },
    };
  }
  if (body.accessType === 'oidc_federation') {
    if (!body.accessId || !body.jwt)
      throw validationError('accessType oidc_federation needs accessId and jwt.', { field: 'jwt' });
    return {
      accessType: 'oidc_federation',
      accessId: body.accessId,
      credential: { kind: 'federated_jwt', jwt: body.jwt },
    };
  }
  if (!body.uidToken)
    throw validationError('accessType universal_identity needs uidToken.', { field: 'uidToken' });
  return {
    accessType: 'universal_identity',
    ...(body.accessId ? { accessId: body.accessId } : {}),
    credential: { kind: 'uid_token', uidToken: body.uidToken },
  };
}

export const AuthResponse = Type.Object({
  token: Type.String({
    description: 'The session token (JWT, typ at+jwt). Send as "Authorization: Bearer <token>".',
  }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds until the token expires.' }),
  expiresAt: IsoTime,
  identityId: Type.String(),
  authMethodId: Type.String(),
  uidTokenId: Type.Optional(Type.String()),
});

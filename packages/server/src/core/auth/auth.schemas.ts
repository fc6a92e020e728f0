import { Type } from '@sinclair/typebox';
import { AccessId, IsoTime, Token } from '../shared/schemas.js';

export const AuthBody = Type.Union([
  Type.Object(
    {
      accessType: Type.Literal('access_key'),
      accessId: AccessId,
      accessKey: Type.String({ minLength: 1, maxLength: 256 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { accessType: Type.Literal('universal_identity'), uidToken: Token, accessId: Type.Optional(AccessId) },
    { additionalProperties: false },
  ),
]);

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

import { type TSchema, Type } from '@sinclair/typebox';

/** The one error shape of the native API (docs/http-api.md), referenced as `Error` by every route. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ maxLength: 64 }),
      message: Type.String({ maxLength: 1000 }),
      requestId: Type.String({ maxLength: 100 }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'Error', description: 'Every error: a stable code, a public message and the request id.' },
);

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')])) as Record<number, TSchema>;

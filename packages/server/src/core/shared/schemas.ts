import { type TSchema, type TUnsafe, Type } from '@sinclair/typebox';

/** A string enum rendered as `enum` (clear validation messages and OpenAPI). */
export const StringEnum = <T extends string>(values: readonly T[], description?: string): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

/** Shared wire schema pieces. Every string is length-bounded (DESIGN §4.5). */
export const IsoTime = Type.String({ format: 'date-time', maxLength: 40, description: 'ISO-8601 UTC' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^/?[A-Za-z0-9][A-Za-z0-9._\\-]*(/[A-Za-z0-9][A-Za-z0-9._\\-]*)*$',
  description:
    'Path-like name: segments of letters, digits, ".", "_" and "-" separated by "/"; no empty or ".." segments.',
});
export const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 50 });
export const Cursor = Type.String({ minLength: 1, maxLength: 100 });
export const AccessId = Type.String({ minLength: 3, maxLength: 64, pattern: '^p-[a-z0-9]+$' });
export const Token = Type.String({ minLength: 1, maxLength: 4096 });

export const toIso = (ms: number) => new Date(ms).toISOString();
export const toIsoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

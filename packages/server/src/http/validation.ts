import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Request validation. Query strings and path parameters are text on the wire, so they are coerced
 * to the schema's types; JSON bodies are typed already, so a wrong type is refused rather than
 * converted (`{"name": 12345}` is a 400, not the name "12345", and `null` stays null).
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false } as const;
  const strictTypes = new Ajv({ ...options, coerceTypes: false });
  const coercing = new Ajv({ ...options, coerceTypes: 'array' });
  for (const ajv of [strictTypes, coercing]) addFormats.default(ajv, ['date-time', 'uri', 'email']);
  const cache = new WeakMap<object, ValidateFunction>();
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strictTypes : coercing;
    const key = schema as object;
    let fn = httpPart === 'body' ? cache.get(key) : undefined;
    if (!fn) {
      fn = ajv.compile(schema as object);
      if (httpPart === 'body') cache.set(key, fn);
    }
    return fn as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}

/**
 * Bad input on every Akeyless command: a 4xx with `{"error": "…"}` as JSON, never a 5xx, driven
 * from the commands' own body schemas (the compat routes are not in the native OpenAPI document).
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteAccess } from '../src/http/access.js';
import { registerAkeylessCommands } from '../src/http/compat/akeyless/akeyless.commands.js';
import { STORES, startTestServer, type TestServer } from './harness.js';

interface Spec {
  name: string;
  body: TObject;
  access: RouteAccess;
}

const specs: Spec[] = [];
registerAkeylessCommands(
  {
    command: (names, spec) => {
      for (const name of typeof names === 'string' ? [names] : names)
        specs.push({ name, body: spec.body, access: spec.access });
    },
  },
  {} as never,
);

const CREDENTIAL_KEYS = new Set(['token', 'uid-token', 'json']);

/** A value of the right type (strings that name nothing: the command must answer 4xx, not 5xx). */
function valid(schema: TSchema): unknown {
  if (schema.type === 'string')
    return schema.minLength && schema.minLength > 1 ? 'x'.repeat(schema.minLength) : 'x';
  if (schema.type === 'integer' || schema.type === 'number') return Math.max(1, schema.minimum ?? 1);
  if (schema.type === 'boolean') return true;
  if (schema.type === 'array') return ['x'];
  if (schema.type === 'object') return {};
  return 'x';
}

/** Values of the wrong type or out of bounds for a schema. */
function wrong(schema: TSchema): unknown[] {
  const out: unknown[] = [{ nested: true }];
  if (schema.type === 'string') out.push(12345, 'y'.repeat((schema.maxLength ?? 1000) + 1));
  if (schema.type === 'integer') out.push('7', 1.5, (schema.maximum ?? 1e12) + 1, (schema.minimum ?? -1) - 1);
  if (schema.type === 'boolean') out.push('true', 1);
  if (schema.type === 'array') out.push('not-an-array', [12]);
  return out;
}

function requiredBody(spec: Spec): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of spec.body.required ?? []) body[key] = valid(spec.body.properties[key]!);
  return body;
}

describe('the Akeyless command catalogue', () => {
  it('covers at least the commands issue 3 names', () => {
    const names = new Set(specs.map((s) => s.name));
    for (const name of [
      'auth',
      'validate-token',
      'create-auth-method',
      'create-auth-method-universal-identity',
      'auth-method-create-universal-identity',
      'update-auth-method-universal-identity',
      'list-auth-methods',
      'get-auth-method',
      'delete-auth-method',
      'uid-generate-token',
      'uid-rotate-token',
      'uid-create-child-token',
      'uid-revoke-token',
      'uid-list-children',
      'create-secret',
      'get-secret-value',
      'update-secret-val',
      'describe-item',
      'list-items',
      'delete-item',
      'create-role',
      'get-role',
      'delete-role',
      'set-role-rule',
      'delete-role-rule',
      'assoc-role-am',
      'delete-assoc',
    ]) {
      expect(names, name).toContain(name);
    }
  });
});

describe.each(STORES)('bad input on every Akeyless command (%s)', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store);
  });
  afterAll(() => s?.close());

  const expectError = (res: { status: number; body: unknown }, what: string) => {
    expect(res.status, what).toBeGreaterThanOrEqual(400);
    expect(res.status, what).toBeLessThan(500);
    expect(typeof (res.body as { error?: unknown })?.error, `${what}: ${JSON.stringify(res.body)}`).toBe(
      'string',
    );
  };

  it('answers a command that does not exist with a JSON 404', async () => {
    const res = await s.call('POST', '/akeyless/no-such-command', { body: {} });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/Unknown command/);
  });

  it('collapses a doubled slash (a base path that ends with /)', async () => {
    const res = await s.call('POST', '/akeyless//validate-token', { body: { token: 't-nope' } });
    expect(res.status).toBe(200);
    expect(res.body.is_valid).toBe(false);
  });

  for (const spec of specs) {
    it(`${spec.name}: no credential, bad bodies, missing and mistyped keys → 4xx {error}`, async () => {
      const url = `/akeyless/${spec.name}`;
      if (!('public' in spec.access)) {
        expectError(await s.call('POST', url, { body: requiredBody(spec) }), 'no credential');
        expectError(
          await s.call('POST', url, { body: { ...requiredBody(spec), token: 't-garbage' } }),
          'garbage token',
        );
        expectError(
          await s.call('POST', url, { body: { ...requiredBody(spec), 'uid-token': 'u-garbage' } }),
          'garbage u-',
        );
        expectError(
          await s.call('POST', url, { body: { ...requiredBody(spec), token: 12 } }),
          'numeric token',
        );
      }
      const token = `t-${s.adminToken}`;
      expectError(await s.call('POST', url, { body: '{"token": ' }), 'truncated JSON');
      expectError(await s.call('POST', url, { body: '[1,2]' }), 'array body');
      expectError(
        await s.call('POST', url, {
          body: 'token=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        'form body',
      );
      for (const key of spec.body.required ?? []) {
        const body = { ...requiredBody(spec), token };
        delete body[key];
        const res = await s.call('POST', url, { body });
        expectError(res, `missing ${key}`);
        if (res.status === 400) expect(res.body.error).toContain(key);
      }
      for (const [key, schema] of Object.entries(spec.body.properties)) {
        if (CREDENTIAL_KEYS.has(key)) continue;
        for (const value of wrong(schema as TSchema)) {
          const res = await s.call('POST', url, { body: { ...requiredBody(spec), [key]: value, token } });
          expectError(res, `${key}=${JSON.stringify(value).slice(0, 40)}`);
        }
      }
      // Unknown keys are ignored (the SDK sends defaults of features Tessera does not have).
      const ignored = await s.call('POST', url, {
        body: { ...requiredBody(spec), token, 'secure-access-web': false },
      });
      expect(ignored.status).toBeLessThan(500);
    });
  }
});

import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from './harness.js';

/**
 * DESIGN §6: unknown or malformed input gets a 4xx with a stable code, never a 5xx, never a stack
 * trace. Driven by the app's own OpenAPI document, so every route (including new ones) is covered.
 */

interface Schema {
  type?: string | string[];
  const?: unknown;
  anyOf?: Schema[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  minProperties?: number;
  additionalProperties?: boolean | Schema;
  $ref?: string;
}
interface Parameter {
  in: 'query' | 'path' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  path: string;
  security?: unknown[];
  parameters: Parameter[];
  body: Schema | null;
  /** The request body limit in bytes: 64 KiB unless the operation declares more (`x-body-limit`). */
  bodyLimit?: number;
  /** How the route refuses input, as it declares it (`x-tessera-error-protocol`, ADR 0044). */
  errorProtocol: ErrorProtocol;
}
/** The error protocols a route may declare (packages/server/src/http/error-protocol.ts). */
type ErrorProtocol = 'tessera' | 'oauth' | 'jsonrpc' | 'ocsp';
const ERROR_PROTOCOLS: readonly string[] = ['tessera', 'oauth', 'jsonrpc', 'ocsp'];

const DEFAULT_BODY_LIMIT = 64 * 1024;

const s = await startTestServer('sqlite', { TESSERA_AUTH_FAILURE_LIMIT: '1000000' });
afterAll(async () => {
  await s.close();
});

const doc = (await s.call('GET', '/openapi.json')).body as {
  paths: Record<string, Record<string, any>>;
  components?: { schemas?: Record<string, Schema> };
};

function resolve(schema: Schema): Schema {
  if (schema.$ref) {
    const name = schema.$ref.split('/').at(-1)!;
    return resolve(doc.components?.schemas?.[name] ?? {});
  }
  return schema;
}

const OPERATIONS: Operation[] = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    security: op.security,
    parameters: (op.parameters ?? []) as Parameter[],
    body: op.requestBody?.content?.['application/json']?.schema
      ? resolve(op.requestBody.content['application/json'].schema)
      : null,
    bodyLimit: typeof op['x-body-limit'] === 'number' ? op['x-body-limit'] : DEFAULT_BODY_LIMIT,
    errorProtocol: op['x-tessera-error-protocol'],
  })),
);

/** Whether the OpenAPI document has an operation for this method and path. */
const documented = (method: string, path: string) =>
  OPERATIONS.some((o) => o.method === method && o.path === path);

/** Public operations: no credential needed (an operation may also say so with `security: []`). */
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /.well-known/jwks.json', 'POST /v1/auth']);
const isPublic = (op: Operation) =>
  PUBLIC.has(`${op.method} ${op.path}`) || (Array.isArray(op.security) && op.security.length === 0);
/** Routes hidden from the document are routes too. */
const HIDDEN: Operation[] = [
  { method: 'GET', path: '/openapi.json', parameters: [], body: null, errorProtocol: 'tessera' },
  { method: 'GET', path: '/docs', parameters: [], body: null, errorProtocol: 'tessera' },
];
for (const op of HIDDEN) PUBLIC.add(`${op.method} ${op.path}`);

// ---------------------------------------------------------------------------------------------
// Values from schemas

const types = (schema: Schema): string[] => {
  const r = resolve(schema);
  if (r.anyOf) return r.anyOf.flatMap(types);
  if (r.enum && !r.type) return [...new Set(r.enum.map((v) => (v === null ? 'null' : typeof v)))];
  if (r.const !== undefined && !r.type) return [r.const === null ? 'null' : typeof r.const];
  return Array.isArray(r.type) ? r.type : r.type ? [r.type] : [];
};
const nonNull = (schema: Schema): Schema => {
  const r = resolve(schema);
  return r.anyOf ? nonNull(r.anyOf.find((v) => !types(v).includes('null') || types(v).length > 1) ?? {}) : r;
};

const STRING_CANDIDATES = ['sample', 'p-sample', 'sample1', 'a', '/sample'];
function sampleString(schema: Schema, length?: number): string {
  if (schema.format === 'date-time') return '2099-01-01T00:00:00.000Z';
  const fits = (v: string) =>
    (!schema.pattern || new RegExp(schema.pattern, 'u').test(v)) &&
    v.length >= (schema.minLength ?? 0) &&
    (length !== undefined || v.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY));
  const candidates =
    length === undefined
      ? STRING_CANDIDATES
      : ['a'.repeat(length), `p-${'a'.repeat(length - 2)}`, `/${'a'.repeat(length - 1)}`];
  const found = candidates.find(fits);
  if (found === undefined) throw new Error(`no sample string for ${JSON.stringify(schema)}`);
  return found;
}

/** A value the schema accepts. */
function sample(schema: Schema): unknown {
  const r = nonNull(schema);
  if (r.enum) return r.enum[0];
  if (r.const !== undefined) return r.const;
  switch (types(r)[0]) {
    case 'string':
      return sampleString(r);
    case 'integer':
    case 'number':
      return Math.min(Math.max(600, r.minimum ?? 600), r.maximum ?? 600);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: r.minItems ?? 0 }, () => sample(r.items ?? {}));
    case 'object': {
      const out: Record<string, unknown> = {};
      const props: Record<string, Schema> = r.properties ?? {};
      for (const key of r.required ?? []) out[key] = sample(props[key] ?? {});
      for (const [key, value] of Object.entries(props)) {
        if (Object.keys(out).length >= (r.minProperties ?? 0)) break;
        if (!(key in out)) out[key] = sample(value);
      }
      return out;
    }
    default:
      return null;
  }
}

/** Values of the wrong JSON type for the schema: none of them may be accepted. */
function wrongTypes(schema: Schema): unknown[] {
  const accepted = types(schema);
  const r = nonNull(schema);
  const out: unknown[] = [];
  if (!accepted.includes('string')) out.push('600', 'true', 'text');
  if (!accepted.includes('integer') && !accepted.includes('number')) out.push(12345, 0);
  if (!accepted.includes('boolean')) out.push(true, false);
  if (!accepted.includes('object')) out.push({}, { nested: 'x' });
  if (!accepted.includes('array')) out.push([], [sample(r)]);
  if (!accepted.includes('null')) out.push(null);
  if (accepted.includes('integer')) out.push(1.5);
  return out;
}

/**
 * Strings far beyond any bound (5,000 characters, or just past a larger bound), shaped to pass the
 * field's pattern so only the length is wrong.
 */
const beyond = (schema: Schema) => Math.max(5000, (schema.maxLength ?? 0) + 1);
function oversized(schema: Schema): unknown | undefined {
  const r = nonNull(schema);
  if (r.enum || r.const !== undefined) return undefined;
  if (types(r).includes('string') && r.format !== 'date-time') return sampleString(r, beyond(r));
  if (types(r).includes('array') && r.items && types(r.items).includes('string')) {
    return [sampleString(nonNull(r.items), beyond(nonNull(r.items)))];
  }
  return undefined;
}

const outOfRange = (schema: Schema): unknown[] => {
  const r = nonNull(schema);
  const out: unknown[] = [];
  if (!types(r).some((t) => t === 'integer' || t === 'number')) return out;
  if (r.minimum !== undefined) out.push(r.minimum - 1);
  if (r.maximum !== undefined) out.push(r.maximum + 1);
  out.push(Number.MAX_SAFE_INTEGER * 4, -1e308);
  return out;
};

// ---------------------------------------------------------------------------------------------
// Requests

interface Answer {
  status: number;
  raw: string;
  body: any;
  headers: Record<string, unknown>;
}

async function send(
  op: Pick<Operation, 'method'>,
  url: string,
  opts: { auth?: string | null; payload?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.auth) headers.authorization = opts.auth;
  if (opts.contentType) headers['content-type'] = opts.contentType;
  const res = await s.tessera.app.inject({
    method: op.method as 'GET',
    url,
    headers,
    ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
  });
  let body: unknown = null;
  try {
    body = res.body ? JSON.parse(res.body) : null;
  } catch {}
  return { status: res.statusCode, raw: res.body, body, headers: res.headers };
}

const ADMIN = `Bearer ${s.adminToken}`;
/**
 * Holder-only routes (rotation, its ack) admit nothing but a `u-` token: this one may not rotate, so
 * a valid body gets a 403 and nothing changes between the cases.
 */
const HOLDER = await (async () => {
  await s.call('POST', '/v1/auth-methods', {
    token: s.adminToken,
    body: { type: 'universal_identity', name: '/bad-input/holder', denyRotate: true },
  });
  const root = await s.call('POST', '/v1/uid/tokens', {
    token: s.adminToken,
    body: { authMethodName: '/bad-input/holder' },
  });
  return `Bearer ${root.body.token}`;
})();
const holderOnly = (op: Pick<Operation, 'security'>) =>
  JSON.stringify(op.security) === JSON.stringify([{ uidToken: [] }]);
/** The credential an operation takes: a UID holder's token, or the administrator's session. */
const credentialFor = (op: Pick<Operation, 'security'>) => (holderOnly(op) ? HOLDER : ADMIN);
const NOT_FOUND_ID = (p: Parameter) => {
  const r = nonNull(p.schema);
  const candidates = ['p-doesnotexist', 'doesnotexist', 'deadbeef' /* a hex serial */];
  return candidates.find((c) => !r.pattern || new RegExp(r.pattern, 'u').test(c)) ?? 'doesnotexist';
};

function urlOf(
  op: Operation,
  params: { path?: Record<string, string>; query?: Record<string, string[]> } = {},
) {
  let path = op.path;
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    path = path.replace(`{${p.name}}`, encodeURIComponent(params.path?.[p.name] ?? NOT_FOUND_ID(p)));
  }
  const query = new URLSearchParams();
  const base = Object.fromEntries(
    op.parameters
      .filter((p) => p.in === 'query' && p.required)
      .map((p) => [p.name, [String(sample(p.schema))]]),
  );
  for (const [k, vs] of Object.entries({ ...base, ...params.query })) for (const v of vs) query.append(k, v);
  const q = query.toString();
  return q ? `${path}?${q}` : path;
}

/**
 * Bodies whose validity the schema alone cannot express (the service checks the fields each type
 * needs): complete them, so that a wrong type in one field is the only thing wrong.
 */
const COMPLETE_BODIES: Record<string, Record<string, unknown>> = {
  'POST /v1/auth': { accessType: 'access_key', accessId: 'p-sample', accessKey: 'sample' },
};
const baseBody = (op: Operation) =>
  op.body
    ? { ...(sample(op.body) as Record<string, unknown>), ...COMPLETE_BODIES[`${op.method} ${op.path}`] }
    : undefined;
const json = (value: unknown) => ({ payload: JSON.stringify(value), contentType: 'application/json' });
const withBase = (op: Operation) => (op.body ? json(baseBody(op)) : {});

/** Path segments no route should take: over-long, malformed escapes, traversal, injection. */
const HOSTILE_PATH_VALUES = [
  'x'.repeat(5000),
  'NOT-AN-ID',
  '%ZZ',
  '%00',
  '..',
  "'; drop table identities; --",
  '<script>',
  'p-%2e%2e%2fetc',
  '🙂',
];
/** A hostile value as it goes into the URL: escapes as written, anything else URL-encoded. */
const rawPathValue = (v: string) => (v.startsWith('%') || v.includes('%2') ? v : encodeURIComponent(v));

const STACK_FRAME = /\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:|node:|\/)[^)\s]*:\d+:\d+/;

/** Nothing internal in an answer: no stack frame, no framework or database wording. */
function expectNothingInternal(a: Answer, where: string) {
  expect(a.raw, where).not.toMatch(STACK_FRAME);
  expect(a.raw, where).not.toContain('Error:');
  expect(a.raw, where).not.toContain('node_modules');
  expect(a.raw, where).not.toMatch(/FST_|SQLITE|syntax error|kysely|\bpg\b/i);
}

/** RFC 6749 §5.2 (and RFC 6750 §3 for a protected resource): `{error, error_description}`. */
function expectOAuthError(a: Answer, where: string) {
  expect(Object.keys(a.body ?? {}).sort(), where).toEqual(['error', 'error_description']);
  expect(a.body.error, where).toMatch(/^[a-z_]+$/);
}

/**
 * The invariants of every refusal: 4xx, one error shape, a stable code, nothing internal. The shape
 * is the one the route declares (`x-tessera-error-protocol`): Tessera's, or RFC 6749 §5.2 for the
 * OAuth door (its own tests: oauth.security.test.ts).
 */
function expectCleanRefusal(a: Answer, label: string, method: string, protocol: ErrorProtocol = 'tessera') {
  const where = `${label} → ${a.status} ${a.raw.slice(0, 300)}`;
  expect(a.status, where).toBeGreaterThanOrEqual(400);
  expect(a.status, where).toBeLessThan(500);
  expectNothingInternal(a, where);
  if (method === 'HEAD') return;
  expect(String(a.headers['content-type']), where).toMatch(/^application\/json/);
  if (protocol === 'oauth') {
    expectOAuthError(a, where);
    return;
  }
  expect(protocol, `${where}: the Tessera error shape is not this route's protocol`).toBe('tessera');
  expect(Object.keys(a.body ?? {}), where).toEqual(['error']);
  const e = a.body.error;
  expect(e.code, where).toMatch(/^TESSERA_[A-Z_]+$/);
  expect(typeof e.message, where).toBe('string');
  expect(e.message.length, where).toBeGreaterThan(0);
  expect(e.requestId, where).toMatch(/^req-[a-z2-7]{24}$/);
  for (const key of Object.keys(e)) expect(['code', 'message', 'requestId', 'details'], where).toContain(key);
}

/** Runs every case, then reports all that failed at once (one test per route and kind of input). */
async function check(
  op: Operation,
  cases: Array<{
    label: string;
    run: () => Promise<Answer>;
    status?: number | number[];
    code?: string | string[];
  }>,
) {
  await expectEach(op, cases, (a, c) => {
    expectCleanRefusal(a, c.label, op.method, op.errorProtocol);
    if (c.status !== undefined) expect([c.status].flat(), `${c.label} → ${a.status}`).toContain(a.status);
    if (c.code !== undefined && op.method !== 'HEAD') {
      expect([c.code].flat(), `${c.label} → ${a.body?.error?.code}`).toContain(a.body.error.code);
    }
  });
}

/** Runs every case and checks its answer, then reports all that failed at once. */
async function expectEach<C extends { label: string; run: () => Promise<Answer> }>(
  op: Pick<Operation, 'method' | 'path'>,
  cases: C[],
  expectAnswer: (a: Answer, c: C) => void,
) {
  const failures: string[] = [];
  for (const c of cases) {
    const a = await c.run();
    try {
      expectAnswer(a, c);
    } catch (error) {
      failures.push(
        `${op.method} ${op.path} ${c.label}: got ${a.status} ${a.raw.slice(0, 160)} (${(error as Error).message.split('\n')[0]})`,
      );
    }
  }
  expect(failures, failures.join('\n')).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

describe('the OpenAPI document', () => {
  it('lists the routes of the API', () => {
    const listed = OPERATIONS.map((o) => `${o.method} ${o.path}`);
    expect(listed.length).toBeGreaterThanOrEqual(20);
    for (const route of [
      'POST /v1/auth',
      'GET /v1/identities',
      'POST /v1/uid/rotate',
      'DELETE /v1/auth-methods/{id}',
    ]) {
      expect(listed).toContain(route);
    }
  });

  it('bounds the length of every input string (DESIGN §4.5)', () => {
    const unbounded: string[] = [];
    const walk = (schema: Schema, where: string) => {
      const r = resolve(schema);
      if (r.anyOf) {
        for (const v of r.anyOf) walk(v, where);
        return;
      }
      const bounded = r.enum || r.const !== undefined || r.maxLength !== undefined;
      if (types(r).includes('string') && !bounded) {
        unbounded.push(where);
      }
      if (r.items) walk(r.items, `${where}[]`);
      for (const [k, v] of Object.entries(r.properties ?? {})) walk(v, `${where}.${k}`);
    };
    for (const op of OPERATIONS) {
      if (op.body) walk(op.body, `${op.method} ${op.path} body`);
      for (const p of op.parameters) walk(p.schema, `${op.method} ${op.path} ${p.in} ${p.name}`);
    }
    expect(unbounded).toEqual([]);
  });

  it('declares the error protocol of every operation (x-tessera-error-protocol)', () => {
    const undeclared = OPERATIONS.filter((op) => !ERROR_PROTOCOLS.includes(op.errorProtocol));
    expect(undeclared.map((op) => `${op.method} ${op.path}: ${op.errorProtocol}`)).toEqual([]);
    // Each protocol this build speaks has a route, so none of the suites below is empty.
    expect([...new Set(OPERATIONS.map((op) => op.errorProtocol))].sort()).toEqual(
      [...ERROR_PROTOCOLS].sort(),
    );
  });

  it('refuses unknown fields in every request body (additionalProperties: false)', () => {
    const open = OPERATIONS.filter((op) => op.body && op.body.additionalProperties !== false);
    expect(open.map((op) => `${op.method} ${op.path}`)).toEqual([]);
  });
});

/**
 * Every route says how it refuses input (`x-tessera-error-protocol`): the generic cases below hold
 * for Tessera's and the OAuth door's forms; the MCP door (JSON-RPC) and the OCSP responder (OCSP
 * responses) have their own below, which assert their protocol's error shape.
 */
const GENERIC = OPERATIONS.filter((op) => op.errorProtocol === 'tessera' || op.errorProtocol === 'oauth');
describe.each([...GENERIC, ...HIDDEN])('$method $path', (op) => {
  const label = `${op.method} ${op.path}`;
  const publicRoute = isPublic(op);

  it(
    publicRoute ? 'answers without a credential' : 'refuses a request without a credential with 401',
    async () => {
      const a = await send(op, urlOf(op), { ...withBase(op) });
      if (publicRoute) {
        // It may refuse the (sample) credential in the body, never the absence of a bearer token.
        expect(a.status, a.raw).toBeLessThan(500);
        expect(a.body?.error?.code, a.raw).not.toBe('TESSERA_UNAUTHENTICATED');
        return;
      }
      // The body is schema-valid: without a credential the answer is about the credential.
      expectCleanRefusal(a, label, op.method);
      expect(a.status, a.raw).toBe(401);
      expect(a.body.error.code).toBe('TESSERA_UNAUTHENTICATED');
      const head = op.method === 'GET' ? await send({ method: 'HEAD' }, urlOf(op)) : null;
      if (head) expect(head.status).toBe(401);
      if (op.body) {
        // Authentication comes before validation: no schema details for callers without a credential.
        const bad = await send(op, urlOf(op), {
          payload: JSON.stringify({ unexpected: 1 }),
          contentType: 'application/json',
        });
        expect(bad.status, bad.raw).toBe(401);
      }
    },
  );

  it('refuses garbage bearer credentials cleanly', async () => {
    const garbage = [
      'Bearer garbage',
      'Bearer t-garbage',
      'Bearer eyJhbGciOiJub25lIn0.e30.',
      'Bearer a.b.c',
      `Bearer u-${'A'.repeat(49)}`,
      'Bearer u-short',
      `Bearer ${'x'.repeat(5000)}`,
      'Basic dXNlcjpwYXNz',
      'Bearer',
      `Bearer ${s.adminToken}x`,
      `Bearer ${s.adminToken.split('.').slice(0, 2).join('.')}.`,
    ];
    const cases = garbage.map((auth) => ({
      label: `Authorization: ${auth.slice(0, 40)}`,
      run: () => send(op, urlOf(op), { auth, ...withBase(op) }),
    }));
    if (publicRoute) {
      for (const c of cases) {
        const a = await c.run();
        expect(a.status, `${c.label} ${a.raw}`).toBeLessThan(500);
      }
      return;
    }
    await check(
      op,
      cases.map((c) => ({
        ...c,
        status: 401,
        code: ['TESSERA_UNAUTHENTICATED', 'TESSERA_TOKEN_INVALID', 'TESSERA_AUTH_FAILED'],
      })),
    );
  });

  it('refuses unknown routes and methods near it with 404', async () => {
    const concrete = urlOf(op).split('?')[0]!;
    await check(op, [
      // `/x/unknown` may match a parameterised sibling route and fail its validation instead.
      {
        label: 'trailing segment',
        run: () => send(op, `${concrete}/unknown`, { auth: credentialFor(op) }),
        status: [400, 404],
      },
      // Only when the other method is not an operation of its own on the same path (RFC 7592
      // defines GET, PUT and DELETE on one registration URL).
      ...(documented(op.method === 'PUT' ? 'PATCH' : 'PUT', op.path)
        ? []
        : [
            {
              label: 'unsupported method',
              run: () =>
                send({ method: op.method === 'PUT' ? 'PATCH' : 'PUT' }, concrete, {
                  auth: credentialFor(op),
                }),
              status: [404, 405],
            },
          ]),
    ]);
  });

  if (op.body) {
    const body = op.body;
    const fields = Object.entries(body.properties ?? {});
    const post =
      (value: unknown, auth: string | null = credentialFor(op)) =>
      () =>
        send(op, urlOf(op), { auth, ...json(value) });

    it('refuses the wrong JSON type in each body field with 400', async () => {
      const cases = fields.flatMap(([name, schema]) =>
        wrongTypes(schema).map((wrong) => ({
          label: `${name}: ${JSON.stringify(wrong)}`,
          run: post({ ...baseBody(op), [name]: wrong }),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        })),
      );
      await check(op, cases);
    });

    it('refuses a body that is not an object with 400', async () => {
      const cases = ['"text"', '42', 'true', 'null', '[]', `[${JSON.stringify(baseBody(op))}]`].map(
        (payload) => ({
          label: `body ${payload.slice(0, 40)}`,
          run: () =>
            send(op, urlOf(op), { auth: credentialFor(op), payload, contentType: 'application/json' }),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        }),
      );
      await check(op, cases);
    });

    it('refuses unknown extra fields with 400', async () => {
      const cases = [
        { unexpected: 1 },
        { isAdmin: true },
        { admin: true, capabilities: ['*'] },
        { constructor: { prototype: { polluted: true } } },
      ].map((extra) => ({
        label: `extra ${JSON.stringify(extra)}`,
        run: post({ ...baseBody(op), ...extra }),
        status: 400,
        code: 'TESSERA_VALIDATION_FAILED',
      }));
      await check(op, cases);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses oversized strings (5,000 characters) and out-of-range numbers with 400', async () => {
      const cases = fields.flatMap(([name, schema]) => {
        const big = oversized(schema);
        return [...(big === undefined ? [] : [big]), ...outOfRange(schema)].map((value) => ({
          label: `${name}: ${JSON.stringify(value).slice(0, 30)}…`,
          run: post({ ...baseBody(op), [name]: value }),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        }));
      });
      await check(op, cases);
    });

    it('refuses an empty body, a missing body and invalid JSON with 400', async () => {
      const payloads = [
        '',
        ' ',
        '{',
        '{"a":',
        '{nope}',
        "{'a':1}",
        '[',
        'nul',
        '"unterminated',
        '{"a":1}}',
        '\u0000',
      ];
      const cases = [
        ...payloads.map((payload) => ({
          label: `payload ${JSON.stringify(payload)}`,
          run: () =>
            send(op, urlOf(op), { auth: credentialFor(op), payload, contentType: 'application/json' }),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        })),
        {
          label: '__proto__ key',
          run: () =>
            send(op, urlOf(op), {
              auth: credentialFor(op),
              payload: `{"__proto__":{"polluted":true},${JSON.stringify(baseBody(op)).slice(1)}`,
              contentType: 'application/json',
            }),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        },
      ];
      if ((body.required ?? []).length > 0 || (body.minProperties ?? 0) > 0) {
        cases.push(
          {
            label: 'no body at all',
            run: () => send(op, urlOf(op), { auth: credentialFor(op) }),
            status: 400,
            code: 'TESSERA_VALIDATION_FAILED',
          },
          { label: 'empty object', run: post({}), status: 400, code: 'TESSERA_VALIDATION_FAILED' },
        );
      }
      await check(op, cases);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses a body that is not JSON with 415', async () => {
      const payload = JSON.stringify(baseBody(op));
      const cases = [
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'image/png',
      ].map((contentType) => ({
        label: `content-type ${contentType}`,
        run: () => send(op, urlOf(op), { auth: credentialFor(op), payload, contentType }),
        status: 415,
        code: 'TESSERA_UNSUPPORTED_MEDIA_TYPE',
      }));
      await check(op, cases);
    });

    it('refuses a body over its limit (64 KiB unless the route declares more) with 413', async () => {
      const over = (op.bodyLimit ?? DEFAULT_BODY_LIMIT) + 6 * 1024;
      const huge = { ...baseBody(op), padding: 'x'.repeat(over) };
      await check(op, [
        { label: 'huge body', run: post(huge), status: 413, code: 'TESSERA_PAYLOAD_TOO_LARGE' },
        { label: 'huge body, no credential', run: post(huge, null), status: [401, 413] },
        {
          label: 'huge non-JSON body',
          run: () =>
            send(op, urlOf(op), {
              auth: credentialFor(op),
              payload: 'x'.repeat(over),
              contentType: 'text/plain',
            }),
          status: [413, 415],
        },
      ]);
    });
  } else {
    it('ignores or refuses cleanly a body it does not take', async () => {
      const payloads: Array<{ payload: string; contentType: string }> = [
        { payload: '{nope', contentType: 'application/json' },
        { payload: 'x'.repeat(70 * 1024), contentType: 'application/json' },
        { payload: 'hello', contentType: 'text/plain' },
        { payload: '<x/>', contentType: 'application/xml' },
      ];
      for (const p of payloads) {
        const a = await send(op, urlOf(op), { auth: credentialFor(op), ...p });
        expect(a.status, `${p.contentType} ${a.raw.slice(0, 200)}`).toBeLessThan(500);
        if (a.status >= 400) expectCleanRefusal(a, `${p.contentType} body`, op.method, op.errorProtocol);
      }
    });
  }

  const pathParams = op.parameters.filter((p) => p.in === 'path');
  // PUT creates what is not there (RFC 9110 §9.3.4): an unknown id is a create, not a 404 (a
  // certificate profile's PUT is tested in pki.test.ts).
  if (pathParams.length > 0) {
    if (op.method !== 'PUT')
      it('answers 404 TESSERA_NOT_FOUND for path ids that do not exist', async () => {
        await check(op, [
          op.errorProtocol === 'oauth'
            ? // RFC 7592 §2: a client that does not exist is 401 invalid_token (nothing to reveal).
              {
                label: 'well-formed unknown id',
                run: () => send(op, urlOf(op), { auth: credentialFor(op), ...withBase(op) }),
                status: 401,
              }
            : {
                label: 'well-formed unknown id',
                run: () => send(op, urlOf(op), { auth: credentialFor(op), ...withBase(op) }),
                status: 404,
                code: 'TESSERA_NOT_FOUND',
              },
        ]);
      });

    it('refuses malformed path ids cleanly', async () => {
      const cases = pathParams.flatMap((p) =>
        HOSTILE_PATH_VALUES.map((v) => ({
          label: `${p.name} ${v.slice(0, 30)}`,
          run: () => {
            const url = urlOf(op).replace(encodeURIComponent(NOT_FOUND_ID(p)), rawPathValue(v));
            return send(op, url, { auth: credentialFor(op), ...withBase(op) });
          },
          // The OAuth door answers an unknown registration 401 (RFC 7592 §2); `..` leaves the route.
          status: op.errorProtocol === 'oauth' ? [400, 401, 404] : [400, 404],
        })),
      );
      await check(op, cases);
    });
  }

  const queryParams = op.parameters.filter((p) => p.in === 'query');
  if (queryParams.length > 0) {
    it('refuses query parameters of the wrong type, shape or size with 400', async () => {
      const cases = queryParams.flatMap((p) => {
        const r = nonNull(p.schema);
        const t = types(r);
        const bad: string[] = [];
        if (t.includes('integer') || t.includes('number'))
          bad.push('abc', '1.5', '1e3x', '', ...outOfRange(r).map(String));
        if (r.enum) bad.push('not-in-the-enum', '');
        if (r.pattern) bad.push('!!!', ' ');
        const big = oversized(r);
        if (big !== undefined) bad.push(String(big));
        return [
          ...bad.map((value) => ({
            label: `${p.name}=${value.slice(0, 30)}`,
            run: () => send(op, urlOf(op, { query: { [p.name]: [value] } }), { auth: credentialFor(op) }),
            status: 400,
            code: 'TESSERA_VALIDATION_FAILED',
          })),
          {
            label: `${p.name} given twice`,
            run: () =>
              send(op, urlOf(op, { query: { [p.name]: [String(sample(r)), String(sample(r))] } }), {
                auth: credentialFor(op),
              }),
            status: 400,
            code: 'TESSERA_VALIDATION_FAILED',
          },
        ];
      });
      cases.push({
        label: 'unknown query parameter',
        run: () => send(op, urlOf(op, { query: { bogus: ['1'] } }), { auth: credentialFor(op) }),
        status: 400,
        code: 'TESSERA_VALIDATION_FAILED',
      });
      for (const p of queryParams.filter((x) => x.required)) {
        cases.push({
          label: `missing required ${p.name}`,
          run: () =>
            send(
              op,
              // Drop the parameter and its separator, keeping the query well formed for the others.
              urlOf(op)
                .replace(new RegExp(`([?&])${p.name}=[^&]*&?`), '$1')
                .replace(/[?&]$/, ''),
              { auth: credentialFor(op) },
            ),
          status: 400,
          code: 'TESSERA_VALIDATION_FAILED',
        });
      }
      await check(op, cases);
    });
  }
});

/**
 * The MCP gateway's door answers in JSON-RPC 2.0: an error object `{jsonrpc, id, error: {code,
 * message, data}}`, except a credential refusal, which is the RFC 6750 §3 challenge the MCP
 * authorization spec prescribes (`WWW-Authenticate: Bearer … resource_metadata=…`). Its cases after
 * a valid token (parse errors, both protocol eras) are in mcp.gateway.test.ts.
 */
function expectJsonRpcRefusal(a: Answer, label: string) {
  const where = `${label} → ${a.status} ${a.raw.slice(0, 300)}`;
  expect(a.status, where).toBeGreaterThanOrEqual(400);
  expect(a.status, where).toBeLessThan(500);
  expectNothingInternal(a, where);
  expect(String(a.headers['content-type']), where).toMatch(/^application\/json/);
  if (a.status === 401 || a.status === 403) {
    expect(String(a.headers['www-authenticate']), where).toMatch(/^Bearer .*resource_metadata="/);
    expectOAuthError(a, where);
    return;
  }
  expect(Object.keys(a.body ?? {}).sort(), where).toEqual(['error', 'id', 'jsonrpc']);
  expect(a.body.jsonrpc, where).toBe('2.0');
  expect(a.body.id === null || ['string', 'number'].includes(typeof a.body.id), where).toBe(true);
  const e = a.body.error;
  expect(Number.isInteger(e.code), where).toBe(true);
  expect(typeof e.message, where).toBe('string');
  expect(e.message.length, where).toBeGreaterThan(0);
  for (const key of Object.keys(e)) expect(['code', 'message', 'data'], where).toContain(key);
  // A stable code: the gateway's own (`mcp_…`), or Tessera's where a shared check refused.
  if (e.data !== undefined) expect(e.data.code, where).toMatch(/^(?:mcp_[a-z0-9_]+|TESSERA_[A-Z_]+)$/);
}

describe.each(OPERATIONS.filter((op) => op.errorProtocol === 'jsonrpc'))('$method $path (JSON-RPC)', (op) => {
  const expectAll = (cases: Array<{ label: string; run: () => Promise<Answer> }>) =>
    expectEach(op, cases, (a, c) => expectJsonRpcRefusal(a, c.label));
  const garbage = [
    'Bearer garbage',
    'Bearer a.b.c',
    `Bearer ${'x'.repeat(5000)}`,
    'Basic dXNlcjpwYXNz',
    ADMIN,
  ];

  it('answers an unknown server, with or without a credential, with a JSON-RPC error', async () => {
    await expectAll([
      { label: 'no credential', run: () => send(op, urlOf(op)) },
      ...garbage.map((auth) => ({
        label: `Authorization: ${auth.slice(0, 30)}`,
        run: () => send(op, urlOf(op), { auth }),
      })),
      { label: 'trailing segment', run: () => send(op, `${urlOf(op)}/unknown`, { auth: ADMIN }) },
    ]);
  });

  it('refuses malformed server names with a JSON-RPC error', async () => {
    const param = op.parameters.find((p) => p.in === 'path');
    expect(param, 'the server name is a path parameter').toBeDefined();
    // `..` resolves outside the door (to `/`): the root's not-found answer, as in 'unknown routes'.
    await expectAll(
      HOSTILE_PATH_VALUES.filter((v) => v !== '..').map((v) => ({
        label: `name ${v.slice(0, 30)}`,
        run: () =>
          send(op, urlOf(op).replace(encodeURIComponent(NOT_FOUND_ID(param!)), rawPathValue(v)), {
            auth: ADMIN,
          }),
      })),
    );
  });

  if (op.method === 'POST')
    it('refuses hostile bodies (not JSON, not JSON-RPC, not JSON at all, too large) with a JSON-RPC error', async () => {
      const bodies = [
        { payload: '{', contentType: 'application/json' },
        { payload: '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', contentType: 'application/json' },
        { payload: '{"jsonrpc":"1.0","id":1,"method":"ping"}', contentType: 'application/json' },
        { payload: '{"__proto__":{"polluted":true}}', contentType: 'application/json' },
        { payload: 'x'.repeat(2 * 1024 * 1024), contentType: 'application/json' },
        { payload: 'hello', contentType: 'text/plain' },
        { payload: '<x/>', contentType: 'application/xml' },
      ];
      await expectAll(
        bodies.map((b) => ({
          label: `${b.contentType} ${b.payload.slice(0, 30)}`,
          run: () => send(op, urlOf(op), { auth: ADMIN, ...b }),
        })),
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
});

/**
 * The OCSP responder (RFC 6960) answers every request it can read, garbage included, with an OCSP
 * response, HTTP 200 and `application/ocsp-response`, as OCSP clients expect: an unsuccessful one
 * (DER 30 03 0a 01 status), `malformedRequest` for garbage, or `unauthorized` while no CA exists
 * (as here; with a CA, pki.ocsp.test.ts). What its door refuses before the responder reads it
 * (another media type, a body or path over the limit, another route) is a Tessera error.
 */
const OCSP_REFUSALS = ['30030a0101' /* malformedRequest */, '30030a0106' /* unauthorized */];
function expectOcspRefusal(a: Answer & { der: string }, where: string) {
  expect(a.status, where).toBe(200);
  expect(String(a.headers['content-type']), where).toBe('application/ocsp-response');
  expect(OCSP_REFUSALS, where).toContain(a.der);
}
async function sendOcsp(
  op: Pick<Operation, 'method'>,
  url: string,
  opts: { auth?: string; payload?: Buffer | string; contentType?: string } = {},
) {
  const res = await s.tessera.app.inject({
    method: op.method as 'GET',
    url,
    headers: {
      ...(opts.auth ? { authorization: opts.auth } : {}),
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
    },
    ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
  });
  let body: unknown = null;
  try {
    body = JSON.parse(res.body);
  } catch {}
  return {
    status: res.statusCode,
    raw: res.body,
    body,
    headers: res.headers,
    der: res.rawPayload.toString('hex'),
  } as Answer & { der: string };
}

describe.each(OPERATIONS.filter((op) => op.errorProtocol === 'ocsp'))('$method $path (OCSP)', (op) => {
  const param = op.parameters.find((p) => p.in === 'path');
  /** The responder's URL with this request in it (GET: in the path; POST: the body). */
  const ocsp = (request: Buffer | string, auth?: string) =>
    op.method === 'GET'
      ? sendOcsp(op, urlOf(op).replace(encodeURIComponent(NOT_FOUND_ID(param!)), String(request)), { auth })
      : sendOcsp(op, urlOf(op), { auth, payload: request, contentType: 'application/ocsp-request' });

  it('answers requests it cannot read with an OCSP refusal, credential or not', async () => {
    const requests =
      op.method === 'GET'
        ? [
            '!!notbase64',
            'NOT-AN-ID',
            '%00',
            encodeURIComponent("'; drop table identities; --"),
            'AAAA',
            'a/b/c',
          ]
        : [Buffer.from('not der'), Buffer.alloc(0), Buffer.from([0x30, 0x82, 0xff, 0xff]), Buffer.alloc(100)];
    for (const request of requests)
      for (const auth of [undefined, 'Bearer garbage', ADMIN]) {
        const a = await ocsp(request, auth);
        expectOcspRefusal(
          a,
          `${String(request).slice(0, 30)} ${auth?.slice(0, 20)} → ${a.status} ${a.raw.slice(0, 200)}`,
        );
      }
  });

  it('leaves what its door refuses first to a clean Tessera error', async () => {
    const cases: Array<{ label: string; run: () => Promise<Answer> }> =
      op.method === 'GET'
        ? [
            { label: 'over-long request', run: () => ocsp('A'.repeat(40_000)) },
            { label: 'unsupported method', run: () => sendOcsp({ method: 'PUT' }, urlOf(op)) },
          ]
        : [
            {
              label: 'JSON body',
              run: () => sendOcsp(op, urlOf(op), { payload: '{}', contentType: 'application/json' }),
            },
            {
              label: 'text body',
              run: () => sendOcsp(op, urlOf(op), { payload: 'hello', contentType: 'text/plain' }),
            },
            { label: 'body over 8 KiB', run: () => ocsp(Buffer.alloc(16 * 1024, 0x30)) },
            { label: 'trailing segment', run: () => sendOcsp({ method: 'PUT' }, `${urlOf(op)}/unknown`) },
          ];
    await expectEach(op, cases, (a, c) => expectCleanRefusal(a, c.label, op.method));
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', '/v1/nope'],
    ['GET', '/v2/identities'],
    ['POST', '/v1/identities/x/y/z'],
    ['POST', '/'], // GET / redirects to the API reference (api-reference.test.ts)
    ['GET', '/index.html'],
    ['GET', '/.env'],
    ['GET', '/v1/../../etc/passwd'],
    ['DELETE', '/v1/identities'],
    ['OPTIONS', '/v1/auth'],
    ['TRACE', '/v1/auth'],
  ])('%s %s → 404 TESSERA_ROUTE_NOT_FOUND', async (method, url) => {
    const a = await send({ method }, url, { auth: ADMIN });
    expectCleanRefusal(a, `${method} ${url}`, method);
    expect(a.status).toBe(404);
    expect(a.body.error.code).toBe('TESSERA_ROUTE_NOT_FOUND');
  });

  it('does not echo a long or hostile URL back in full', async () => {
    const a = await send({ method: 'GET' }, `/v1/${'<script>'.repeat(500)}`, { auth: ADMIN });
    expectCleanRefusal(a, 'hostile url', 'GET');
    expect(a.raw.length).toBeLessThan(1500);
  });
});

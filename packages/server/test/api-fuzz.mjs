// Property-based fuzzing of the HTTP API (issue 19), shared by the short CI run
// (api-fuzz.test.ts) and the long one (bench/fuzz.mjs). Requests are generated from /openapi.json:
// well-typed bodies with hostile values, wrong types, malformed JSON, odd media types, hostile path
// and query parameters, with no, a garbage or a valid administrator token. Every answer must be
// below 500 (a 503 only with Retry-After), arrive in time, and leak none of the planted secrets.
import fc from 'fast-check';

const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '..%2f..%2f',
  '%00',
  '\u0000',
  "' OR 1=1 --",
  '"; drop table secrets; --',
  '<script>alert(1)</script>',
  ['$', '{jndi:ldap://x}'].join(''),
  '{{7*7}}',
  '/',
  '//',
  '*',
  '/a/*/b',
  '\ud800',
  '😀'.repeat(50),
  'a'.repeat(5000),
  '/'.repeat(300),
  '-1',
  'NaN',
  'null',
  'true',
  '__proto__',
  'constructor',
  'k-00000000',
  'p-00000000',
  't-AAAAAAAAAAAAAAAAAAAA',
  'u-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
];
const HOSTILE_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 0.5, Number.MAX_SAFE_INTEGER];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.fullUnicodeString({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom('/fuzz/a', '/fuzz/b', 'fuzz/c', '/demo/x') },
);
const anyJson = fc.jsonValue({ maxDepth: 3 });

function resolveRef(spec, schema) {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) {
    const path = s.$ref.replace(/^#\//, '').split('/');
    s = path.reduce((o, k) => o?.[k], spec);
  }
  return s ?? {};
}

/** A value for `schema`, usually well-typed with hostile content, sometimes of the wrong type. */
function valueFor(spec, schema, depth = 0) {
  const s = resolveRef(spec, schema);
  const wrong = anyJson;
  let right;
  if (s.const !== undefined) right = fc.constant(s.const);
  else if (Array.isArray(s.enum)) right = fc.constantFrom(...s.enum);
  else if (s.anyOf || s.oneOf)
    right = fc.oneof(...(s.anyOf ?? s.oneOf).map((x) => valueFor(spec, x, depth + 1)));
  else if (s.type === 'object' || s.properties) {
    if (depth > 3) right = fc.constant({});
    else {
      const props = Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, v]) => [k, valueFor(spec, v, depth + 1)]),
      );
      right = fc.record(props, { requiredKeys: [] });
    }
  } else if (s.type === 'array') right = fc.array(valueFor(spec, s.items ?? {}, depth + 1), { maxLength: 4 });
  else if (s.type === 'integer' || s.type === 'number')
    right = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.integer());
  else if (s.type === 'boolean') right = fc.boolean();
  else if (s.type === 'string') right = hostileString;
  else right = anyJson;
  return fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

/** The routes of the OpenAPI document: method, path template, parameters and body schema. */
export function routesOf(spec) {
  const routes = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = op.requestBody?.content?.['application/json']?.schema;
      routes.push({ method: method.toUpperCase(), path, parameters: op.parameters ?? [], body });
    }
  }
  // Routes not in the document (front doors with their own formats) and unknown ones.
  routes.push(
    { method: 'POST', path: '/oauth/token', parameters: [], body: undefined, form: true },
    { method: 'POST', path: '/oauth/introspect', parameters: [], body: undefined, form: true },
    { method: 'POST', path: '/oauth/revoke', parameters: [], body: undefined, form: true },
    { method: 'GET', path: '/nope/{x}', parameters: [{ in: 'path', name: 'x' }], body: undefined },
  );
  return routes;
}

/** Percent-encodes; a lone surrogate becomes an invalid UTF-8 sequence (hostile too). */
function encodePart(value) {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

/** An arbitrary request: `{ method, url, headers, payload }` for `app.inject` or `fetch`. */
export function requestArbitrary(spec, tokens) {
  const routes = routesOf(spec);
  return fc.constantFrom(...routes).chain((route) => {
    const pathParams = route.path.match(/\{[^}]+\}/g) ?? [];
    const query = route.parameters.filter((p) => p.in === 'query');
    const body = route.body
      ? fc.oneof(
          { weight: 6, arbitrary: valueFor(spec, route.body).map((v) => JSON.stringify(v)) },
          { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
          { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
          {
            weight: 1,
            arbitrary: fc.constantFrom('{', '{"a":', '[1,2', 'null', '{"__proto__":{"x":1}}', '"x"'),
          },
        )
      : route.form
        ? fc
            .dictionary(
              fc.constantFrom('grant_type', 'client_id', 'client_secret', 'token', 'scope', 'assertion'),
              hostileString,
              {
                maxKeys: 4,
              },
            )
            .map((d) => new URLSearchParams(d).toString())
        : fc.option(fc.string({ maxLength: 30 }), { nil: undefined });
    return fc
      .record({
        params: fc.tuple(...pathParams.map(() => hostileString)),
        query: fc.array(
          fc.tuple(
            query.length
              ? fc.oneof(fc.constantFrom(...query.map((q) => q.name)), fc.string({ maxLength: 8 }))
              : fc.string({ maxLength: 8 }),
            fc.oneof(hostileString, fc.constantFrom(...HOSTILE_NUMBERS.map(String))),
          ),
          { maxLength: 3 },
        ),
        body,
        contentType: fc.constantFrom(
          route.form ? 'application/x-www-form-urlencoded' : 'application/json',
          'application/json',
          'text/plain',
          'application/json; charset=utf-16',
          undefined,
        ),
        auth: fc.constantFrom('none', 'garbage', 'admin', 'admin', 'admin', 'basic'),
      })
      .map(({ params, query: q, body: b, contentType, auth }) => {
        let i = 0;
        const path = route.path.replace(/\{[^}]+\}/g, () => encodePart(params[i++] ?? 'x'));
        const search = q.map(([k, v]) => `${encodePart(k)}=${encodePart(v)}`).join('&');
        const headers = {};
        if (contentType && b !== undefined) headers['content-type'] = contentType;
        if (auth === 'admin') headers.authorization = `Bearer ${tokens.admin}`;
        if (auth === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.';
        if (auth === 'basic') headers.authorization = `Basic ${Buffer.from('a:b').toString('base64')}`;
        return {
          method: route.method,
          url: `${path}${search ? `?${search}` : ''}`,
          headers,
          ...(b !== undefined && route.method !== 'GET' ? { payload: b } : {}),
        };
      });
  });
}

/**
 * Sends `count` generated requests through `send` (returns `{ status, headers, body }`) and checks
 * every answer. Returns the figures; `failures` lists the first offending requests.
 */
export async function fuzz({ spec, tokens, send, count, seed, secrets, timeoutMs = 5000, concurrency = 1 }) {
  const statuses = new Map();
  const failures = [];
  let hangs = 0;
  let leaks = 0;
  let fiveHundreds = 0;
  const started = performance.now();
  const samples = fc.sample(requestArbitrary(spec, tokens), { numRuns: count, seed });
  let next = 0;
  const worker = async () => {
    while (next < samples.length) await check(samples[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  async function check(request) {
    let timer;
    const answer = await Promise.race([
      send(request),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (answer === null) {
      hangs++;
      if (failures.length < 10) failures.push({ request, problem: 'no answer in time' });
      return;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const retryable503 = answer.status === 503 && answer.headers['retry-after'];
    if (answer.status >= 500 && !retryable503) {
      fiveHundreds++;
      if (failures.length < 10)
        failures.push({ request, problem: `${answer.status} ${String(answer.body).slice(0, 300)}` });
    }
    const leaked = secrets.filter((s) => String(answer.body).includes(s));
    if (leaked.length > 0) {
      leaks++;
      if (failures.length < 10) failures.push({ request, problem: 'a planted secret is in the answer' });
    }
  }
  return {
    requests: samples.length,
    seconds: (performance.now() - started) / 1000,
    statuses: Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])),
    fiveHundreds,
    hangs,
    leaks,
    failures,
  };
}

/** `send` over `app.inject` of a Tessera instance. */
export function injectSender(app) {
  return async (request) => {
    const res = await app.inject(request);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };
}

/**
 * Plants what must never leak on `tessera` (a server with an admin token): a secret the fuzzer's
 * names cannot reach. Returns the strings to look for (with the admin's access key).
 */
export async function plantSecrets(app, adminToken, adminAccessKey) {
  const canary = `FUZZ-CANARY-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const r = await app.inject({
    method: 'POST',
    url: '/v1/secrets',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    payload: { name: '/zz-canary/never-fuzzed', value: canary },
  });
  if (r.statusCode !== 201) throw new Error(`could not plant the canary: ${r.body}`);
  return [canary, adminAccessKey];
}

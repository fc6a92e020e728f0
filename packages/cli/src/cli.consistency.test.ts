import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FetchLike } from '@tessera/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from '../test/capture-cli.js';
import { COMMANDS, commandHelp } from './cli.main.js';

/** Issue 10, item 7: one duration syntax, one flag name per concept, stable JSON, safe profiles. */

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}
type Handler = (call: Call) => [number, unknown];

const JWT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln';
const NOW = Date.parse('2025-06-01T10:00:00Z');
const AUTH_OK: Handler = (c) =>
  c.body?.accessKey === 'GOOD-KEY'
    ? [200, { token: `t-${JWT}`, expiresAt: '2025-06-01T11:00:00.000Z', expiresInSeconds: 3600 }]
    : [401, { error: { code: 'TESSERA_AUTH_FAILED', message: 'Authentication failed.', requestId: 'r1' } }];

let dir: string;
let calls: Call[];
let routes: Record<string, Handler>;
let pageForEveryGet: unknown;

const fakeFetch: FetchLike = async (input, init) => {
  const url = new URL(input);
  const call: Call = {
    method: init.method ?? 'GET',
    path: url.pathname,
    body: typeof init.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
  };
  calls.push(call);
  const handler = routes[`${call.method} ${call.path}`];
  const [status, body] = handler
    ? handler(call)
    : call.method === 'GET' && pageForEveryGet
      ? [200, pageForEveryGet]
      : [404, { error: { code: 'TESSERA_ROUTE_NOT_FOUND', message: 'No such route.' } }];
  return new Response(JSON.stringify(body), { status });
};

function run(argv: string[], env: Record<string, string> = {}) {
  return runCapturing(argv, {
    env: { TESSERA_CONFIG_DIR: dir, TESSERA_TOKEN: 't-admin', ...env },
    now: () => NOW,
    readStdin: async () => 'PW\n',
    onShutdownSignal: () => () => undefined,
    fetch: fakeFetch,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-cli-consistency-'));
  calls = [];
  routes = { 'POST /v1/auth': AUTH_OK };
  pageForEveryGet = undefined;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('durations: units everywhere, bare numbers keep their documented unit', () => {
  const echo: Handler = (c) => [201, { ...c.body }];

  it('TTL flags of auth methods, UID tokens and rules take units; a bare number is minutes', async () => {
    routes['POST /v1/auth-methods'] = (c) => [201, { authMethod: { id: 'p-1', ...c.body } }];
    routes['POST /v1/uid/children'] = () => [201, { token: 'u-CHILD', tokenId: 'n2', ttlSeconds: 90 }];
    routes['PUT /v1/roles/r/rules'] = (c) => [200, { id: 'rr-1', expiresAt: null, ...c.body }];
    const cases: Array<[string[], string, number]> = [
      [['auth-method', 'create', 'universal-identity', '--name', '/a', '--ttl', '12h'], 'ttlSeconds', 43_200],
      [['auth-method', 'create', 'universal-identity', '--name', '/a', '--ttl', '60'], 'ttlSeconds', 3600],
      [['auth-method', 'create', 'access-key', '--name', '/a', '--jwt-ttl', '15m'], 'jwtTtlSeconds', 900],
      [
        ['auth-method', 'create', 'universal-identity', '--name', '/a', '--rotation-grace-seconds', '2m'],
        'rotationGraceSeconds',
        120,
      ],
      [['uid-create-child-token', '--uid-token', 'u-P', '--child-ttl', '90s'], 'ttlSeconds', 90],
      [
        ['set-role-rule', '--role-name', 'r', '--path', '/x/*', '--capability', 'read', '--ttl', '7d'],
        'ttlSeconds',
        604_800,
      ],
    ];
    for (const [argv, field, seconds] of cases) {
      calls = [];
      const r = await run(argv);
      expect(r.stderr.includes('must be'), r.stderr).toBe(false);
      expect(calls.at(-1)?.body?.[field], argv.join(' ')).toBe(seconds);
    }
  });

  it('dynamic secrets take units; a bare number stays seconds (as documented)', async () => {
    routes['POST /v1/dynamic-secrets'] = echo;
    const base = ['create-dynamic-secret', 'redis', '--name', '/c', '--host', 'cache'];
    await run([...base, '--ttl', '90', '--max-ttl', '12h']);
    expect(calls[0]?.body).toMatchObject({ defaultTtlSeconds: 90, maxTtlSeconds: 43_200 });
  });

  it('rotated secrets take units for --interval and --grace; a bare number stays minutes', async () => {
    routes['POST /v1/rotated-secrets'] = echo;
    const base = [
      'create-rotated-secret',
      '--name',
      '/r',
      '--type',
      'redis',
      '--host',
      'h',
      '--port',
      '6379',
      '--admin-user',
      'default',
      '--admin-password-file',
      '-',
      '--single-account',
      '--username',
      'app',
    ];
    await run([...base, '--interval', '24h', '--grace', '0']);
    await run([...base, '--interval', '1440', '--grace', '90s']);
    expect(calls[0]?.body).toMatchObject({ intervalSeconds: 86_400, graceSeconds: 0 });
    expect(calls[1]?.body).toMatchObject({ intervalSeconds: 86_400, graceSeconds: 90 });
  });

  it('every duration flag is documented with its units in help', () => {
    const durationFlags = ['ttl', 'jwt-ttl', 'child-ttl', 'child-ttl-limit', 'max-ttl', 'interval', 'grace'];
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries(command.options)) {
        if (!durationFlags.includes(name)) continue;
        expect(spec.type, `${command.path.join(' ')} --${name}`).toBe('string');
        expect(spec.placeholder, `${command.path.join(' ')} --${name}`).toBe('DURATION');
      }
    }
  });
});

describe('one flag name per concept', () => {
  it('--db-name names the database of dynamic and rotated secrets; --database is a hidden alias', async () => {
    routes['POST /v1/rotated-secrets'] = (c) => [201, { ...c.body }];
    routes['POST /v1/dynamic-secrets'] = (c) => [201, { ...c.body }];
    const rotated = COMMANDS.find((c) => c.path[0] === 'create-rotated-secret')!;
    const pg = COMMANDS.find((c) => c.path.join(' ') === 'create-dynamic-secret postgresql')!;
    for (const command of [rotated, pg]) {
      expect(Object.keys(command.options)).toContain('db-name');
      expect(Object.keys(command.options)).not.toContain('database');
      expect(commandHelp(command)).not.toContain('--database');
    }
    const common = ['--host', 'h', '--admin-user', 'u', '--admin-password-file', '-'];
    const rotatedArgs = ['create-rotated-secret', '--name', '/r', '--type', 'postgresql', '--port', '5432'];
    const accounts = ['--username-a', 'a', '--username-b', 'b'];
    await run([...rotatedArgs, ...common, ...accounts, '--db-name', 'orders']);
    await run([...rotatedArgs, ...common, ...accounts, '--database', 'orders']);
    await run(['create-dynamic-secret', 'postgresql', '--name', '/d', ...common, '--database', 'orders']);
    const database = (c: Call) =>
      c.body?.database ?? (c.body?.settings as Record<string, unknown> | undefined)?.database;
    expect(calls.map(database)).toEqual(['orders', 'orders', 'orders']);
  });
});

describe('one name for the server URL', () => {
  it('--url everywhere; the agent and run read the old --server-url as a hidden alias', async () => {
    for (const name of ['agent', 'run']) {
      const command = COMMANDS.find((c) => c.path.join(' ') === name)!;
      expect(Object.keys(command.options)).not.toContain('server-url');
      expect(commandHelp(command)).not.toContain('--server-url');
    }
    const r = await run(['auth-method', 'list', '--server-url', 'localhost:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--url must be an http:// or https:// URL');
  });
});

describe('--json shapes', () => {
  it('every list command prints {items: [...]} (only audit list --follow streams JSON lines)', async () => {
    // Every GET answers a page, so a list command added later is checked too.
    const page = { items: [{ id: 'x', name: '/x', seq: 1 }], nextCursor: null };
    pageForEveryGet = page;
    const lists = COMMANDS.filter(
      (c) =>
        c.path.some((w) => w === 'list' || w.startsWith('list-')) || c.path.join(' ') === 'audit failures',
    );
    const argv: Record<string, string[]> = {
      'list-leases': ['--name', '/d'],
      'uid-list-children': ['--uid-token', 'u-P'],
    };
    const checked: string[] = [];
    for (const command of lists) {
      const name = command.path.join(' ');
      if (name === 'uid-list-children') continue; // a tree: one object
      const r = await run([...command.path, ...(argv[name] ?? []), '--json']);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      const parsed = JSON.parse(r.stdout) as { items?: unknown };
      expect(Array.isArray(parsed.items), name).toBe(true);
      checked.push(name);
    }
    expect(checked).toEqual(expect.arrayContaining(['audit list', 'audit failures', 'list-items']));
  });
});

describe('configure', () => {
  const configure = (key: string, extra: string[] = []) =>
    run(['configure', '--url', 'http://h:1', '--access-id', 'p-admin', '--access-key', key, ...extra], {
      TESSERA_TOKEN: '',
    });

  it('checks the credential before saving, and never replaces a working profile with a broken one', async () => {
    expect((await configure('GOOD-KEY')).code).toBe(0);
    const before = await readFile(join(dir, 'credentials.json'), 'utf8');
    const bad = await configure('TYPO-KEY');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not saved');
    expect(await readFile(join(dir, 'credentials.json'), 'utf8')).toBe(before);
    expect(calls.filter((c) => c.path === '/v1/auth').map((c) => c.body?.accessKey)).toEqual([
      'GOOD-KEY',
      'TYPO-KEY',
    ]);
    // --no-verify saves without asking the server (e.g. before it runs).
    calls = [];
    expect((await configure('LATER-KEY', ['--no-verify'])).code).toBe(0);
    expect(calls).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')).profiles.default).toEqual({
      accessKey: 'LATER-KEY',
    });
  });

  it('keeps the key out of config.json, in credentials.json (0600), and migrates an old config on read', async () => {
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        version: 1,
        profiles: { default: { url: 'http://h:1', accessId: 'p-admin', accessKey: 'GOOD-KEY' } },
      }),
      { mode: 0o600 },
    );
    routes['GET /v1/auth-methods'] = () => [200, { items: [], nextCursor: null }];
    const r = await run(['auth-method', 'list', '--json'], { TESSERA_TOKEN: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(calls[0]?.body?.accessKey).toBe('GOOD-KEY');
    const config = await readFile(join(dir, 'config.json'), 'utf8');
    expect(config).not.toContain('GOOD-KEY');
    expect(JSON.parse(config).profiles.default).toEqual({ url: 'http://h:1', accessId: 'p-admin' });
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    const shown = await run(['configure', '--json'], { TESSERA_TOKEN: '' });
    expect(JSON.parse(shown.stdout)).toMatchObject({ accessId: 'p-admin', accessKeySet: true });
  });
});

describe('small things a newcomer meets', () => {
  it('--version prints the version', async () => {
    expect((await run(['--version'])).stdout).toMatch(/^tessera \d+\.\d+\.\d+\n$/);
    expect(JSON.parse((await run(['--version', '--json'])).stdout)).toHaveProperty('version');
    expect(JSON.parse((await run(['--json', '--version'])).stdout)).toHaveProperty('version');
  });

  it('a URL without a scheme is a usage error that says what to write', async () => {
    for (const [argv, env] of [
      [['auth-method', 'list', '--url', 'localhost:8377'], {}],
      [['auth-method', 'list'], { TESSERA_URL: '127.0.0.1:8377' }],
      [['configure', '--url', 'localhost:8377'], {}],
    ] as Array<[string[], Record<string, string>]>) {
      const r = await run(argv, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/must be an http:\/\/ or https:\/\/ URL/);
      expect(r.stderr).toMatch(/did you mean http:\/\/(localhost|127\.0\.0\.1):8377/);
    }
    expect(calls).toEqual([]);
  });

  it('access explain exits 1 on deny (the explanation is still printed) and 0 on allow', async () => {
    const answer = (allowed: boolean) => ({
      allowed,
      reason: allowed ? 'granted' : 'no_matching_rule',
      summary: allowed ? 'allowed by role r' : 'denied: no rule matches',
      rule: null,
      role: null,
      association: null,
      principal: { identityId: 'i-1', authMethodId: 'p-1', uidTokenId: null },
      resource: { type: 'item', path: '/x' },
      associations: [],
      notApplied: [],
    });
    let allowed = false;
    routes['POST /v1/access/explain'] = () => [200, answer(allowed)];
    const denied = await run(['access', 'explain', '--path', '/x', '--action', 'read']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain('denied: no rule matches');
    const deniedJson = await run(['access', 'explain', '--path', '/x', '--action', 'read', '--json']);
    expect(deniedJson.code).toBe(1);
    expect(JSON.parse(deniedJson.stdout).allowed).toBe(false);
    allowed = true;
    expect((await run(['access', 'explain', '--path', '/x', '--action', 'read'])).code).toBe(0);
  });
});

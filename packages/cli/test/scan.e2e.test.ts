import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FetchLike } from '@tessera/sdk';
import Ajv from 'ajv-draft-04';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../server/test/fixtures/webhook-receiver.js';
import { startTestServer, type TestServer, uidAuth, uidSetup } from '../../server/test/harness.js';
import { createClient } from '../../server/test/oauth.helpers.js';
import { redisFixture } from '../../server/test/producer-fixtures.js';
import { runCapturing } from './capture-cli.js';

/**
 * Issue 17 (ADR 0020): credentials of every Tessera kind planted in files, a staged change and
 * history are found; with --revoke each is dead afterwards and its owner alerted; re-running is
 * idempotent. The CLI talks to a real server in this process (its fetch is the server's inject).
 */
const tag = `sc${process.pid}${Math.random().toString(36).slice(2, 6)}`;
const OWNER = `owner-${tag}@example.com`;
const KINDS = ['uid_token', 'session_token', 'access_key', 'client_secret', 'dynamic_password'] as const;
const GITHUB = 'ghp_xRzWq8a9bcdE1FgHiJkLmNoPqRsTuVwXyZ12';
const redis = redisFixture();
const schema = JSON.parse(readFileSync(join(__dirname, 'fixtures/sarif-schema-2.1.0.json'), 'utf8'));

let s: TestServer;
let hook: WebhookReceiver;
const bodies: string[] = [];
let configDir: string;
let n = 0;

interface Planted {
  values: Record<(typeof KINDS)[number], string>;
  accessId: string;
  clientId: string;
  lease: { username: string; password: string };
}

/** A fresh credential of every kind, owned by OWNER (the lease by the administrator). */
async function mint(): Promise<Planted> {
  n++;
  const a = await uidSetup(s, { owner: OWNER });
  const b = await uidSetup(s, { owner: OWNER });
  s.track(b.root.token);
  const key = await s.call('POST', '/v1/auth-methods', {
    token: s.adminToken,
    body: { type: 'access_key', name: `/scan/${tag}/key${n}`, owner: OWNER },
  });
  const client = await createClient(s, `/scan/${tag}/client${n}`, { owner: OWNER });
  const issued = await s.call('POST', '/v1/dynamic-secrets/credentials', {
    token: s.adminToken,
    body: { name: `/scan/${tag}/redis` },
  });
  expect(issued.status, JSON.stringify(issued.body)).toBe(201);
  const values = {
    uid_token: a.root.token,
    session_token: (await uidAuth(s, b.root.token)).body.token as string,
    access_key: key.body.accessKey as string,
    client_secret: client.clientSecret!,
    dynamic_password: issued.body.password as string,
  };
  for (const v of Object.values(values)) s.track(v);
  return { values, accessId: key.body.authMethod.id, clientId: client.clientId, lease: issued.body };
}

/** Which of the planted credentials still work, each where it is used. */
async function alive(p: Planted): Promise<string[]> {
  const live: string[] = [];
  if ((await uidAuth(s, p.values.uid_token)).status === 200) live.push('uid_token');
  if ((await s.call('GET', '/v1/identities', { token: p.values.session_token })).status !== 401)
    live.push('session_token');
  const key = await s.call('POST', '/v1/auth', {
    body: { accessType: 'access_key', accessId: p.accessId, accessKey: p.values.access_key },
  });
  if (key.status === 200) live.push('access_key');
  const token = await s.tessera.app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: 'grant_type=client_credentials',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${p.clientId}:${p.values.client_secret}`).toString('base64')}`,
    },
  });
  if (token.statusCode === 200) live.push('client_secret');
  try {
    await (await redis.connect(p.lease.username, p.lease.password)).close();
    live.push('dynamic_password');
  } catch {}
  return live;
}

const injectFetch: FetchLike = async (input, init) => {
  const url = new URL(input);
  const res = await s.tessera.app.inject({
    method: (init.method ?? 'GET') as 'GET',
    url: url.pathname + url.search,
    headers: Object.fromEntries(new Headers(init.headers).entries()),
    ...(typeof init.body === 'string' ? { payload: init.body } : {}),
  });
  return new Response(res.body, { status: res.statusCode, headers: res.headers as Record<string, string> });
};

function scan(args: string[], tty = false) {
  return runCapturing(['scan', ...args], {
    env: {
      TESSERA_CONFIG_DIR: configDir,
      TESSERA_URL: 'http://tessera.test',
      TESSERA_TOKEN: s.adminToken,
      TESSERA_SCAN_KEY: `key-${tag}`,
    },
    isTty: () => tty,
    now: () => Date.now(),
    readStdin: async () => '',
    onShutdownSignal: () => () => undefined,
    fetch: injectFetch,
  });
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
    cwd,
    encoding: 'utf8',
  });

async function repo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-scan-'));
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(join(dir, 'README.md'), '# clean\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

/** A config file holding every planted credential, one per line, in shapes people write them. */
const envFile = (p: Planted) =>
  [
    `TESSERA_UID_TOKEN=${p.values.uid_token}`,
    `Authorization: Bearer t-${p.values.session_token}`,
    `accessKey: "${p.values.access_key}"`,
    `client_secret=${p.values.client_secret}`,
    `DATABASE_URL=redis://${p.lease.username}:${p.values.dynamic_password}@db:6379/0`,
    '',
  ].join('\n');

const alertsOf = () => bodies.map((b) => JSON.parse(b)).filter((b) => b.alert?.rule === 'credential_leaked');
async function waitForAlerts(count: number) {
  const end = Date.now() + 5000;
  while (alertsOf().length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return alertsOf();
}

beforeAll(async () => {
  hook = await startWebhookReceiver(bodies);
  s = await startTestServer('sqlite', {
    TESSERA_ALERT_WEBHOOK_URL: hook.url('/alerts'),
  });
  configDir = await mkdtemp(join(tmpdir(), 'tessera-scan-config-'));
  await redis.setUp(tag);
  const item = await s.call('POST', '/v1/dynamic-secrets', {
    token: s.adminToken,
    body: { name: `/scan/${tag}/redis`, type: 'redis', settings: redis.settings(`${tag}_`) },
  });
  expect(item.status, JSON.stringify(item.body)).toBe(201);
});
afterAll(async () => {
  await s?.close();
  await hook?.close();
  await redis.tearDown(`${tag}_`);
});

describe('tessera scan', () => {
  it('finds every kind in a working tree, honours .gitignore and the allow-list, never prints a secret', async () => {
    const p = await mint();
    const dir = await repo();
    await mkdir(join(dir, 'config'));
    await writeFile(join(dir, 'config/app.env'), envFile(p));
    await writeFile(join(dir, 'ci.yml'), `token: ${GITHUB}\n`);
    await writeFile(join(dir, '.gitignore'), 'local/\n');
    await mkdir(join(dir, 'local'));
    await writeFile(join(dir, 'local/secret.env'), envFile(p));
    await mkdir(join(dir, 'test'));
    await writeFile(join(dir, 'test/fixture.txt'), `x=${p.values.access_key}\n`);
    await writeFile(
      join(dir, '.tessera-scan-allow.yaml'),
      '- path: test/**\n  reason: fixtures are checked separately\n',
    );
    const r = await scan([dir, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    const tessera = out.findings.filter((f: any) => f.tesseraKind);
    expect(tessera.map((f: any) => f.tesseraKind)).toEqual([...KINDS]);
    expect(tessera.map((f: any) => `${f.path}:${f.line}`)).toEqual(
      KINDS.map((_, i) => `config/app.env:${i + 1}`),
    );
    expect(
      out.findings.some((f: any) => f.rule === 'secretlint/github/GITHUB_TOKEN' && f.path === 'ci.yml'),
    ).toBe(true);
    expect(out.findings.some((f: any) => f.path.startsWith('local/'))).toBe(false);
    expect(out.allowed).toEqual([
      expect.objectContaining({ path: 'test/fixture.txt', reason: 'fixtures are checked separately' }),
    ]);
    for (const text of [r.stdout, r.stderr])
      for (const v of [...Object.values(p.values), GITHUB]) expect(text).not.toContain(v);
    // The text form too; and nothing was revoked by a plain scan.
    const text = await scan([dir]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /config\/app\.env:1:\d+ {2}tessera\/uid_token {2}u-.{4}…\(51 chars\) {2}hmac-sha256:/,
    );
    for (const v of Object.values(p.values)) expect(text.stdout).not.toContain(v);
    expect(await alive(p)).toEqual([...KINDS]);
    // A clean tree exits 0.
    const clean = await scan([
      join(dir, 'local'),
      '--tessera-only',
      '--allow',
      join(dir, '.tessera-scan-allow.yaml'),
    ]);
    expect(clean.code).toBe(1);
    const empty = await mkdtemp(join(tmpdir(), 'tessera-scan-clean-'));
    await writeFile(join(empty, 'a.txt'), 'u-notatoken and tak-nothing here\n');
    expect((await scan([empty])).code).toBe(0);
  });

  it('writes SARIF that validates against the SARIF 2.1.0 schema', async () => {
    const p = await mint();
    const dir = await repo();
    await writeFile(join(dir, 'app.env'), `${envFile(p)}gh=${GITHUB}\n`);
    const r = await scan([dir, '--format', 'sarif']);
    expect(r.code).toBe(1);
    const sarif = JSON.parse(r.stdout);
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(sarif.runs[0].results).toHaveLength(KINDS.length + 1);
    for (const v of Object.values(p.values)) expect(r.stdout).not.toContain(v);
    // The schema really checks: a result without a message is refused.
    delete sarif.runs[0].results[0].message;
    expect(validate(sarif)).toBe(false);
  });

  it('--staged finds them in the staged change; --revoke kills each and alerts the owner; idempotent', async () => {
    const p = await mint();
    const dir = await repo();
    await writeFile(join(dir, 'README.md'), `# clean\n\n${envFile(p)}`);
    await writeFile(join(dir, 'unstaged.env'), `x=${GITHUB}\n`);
    git(dir, 'add', 'README.md');
    const found = await scan(['--staged', '--json'].concat([dir]));
    expect(found.code, found.stderr).toBe(1);
    const out = JSON.parse(found.stdout);
    expect(out.findings.map((f: any) => f.tesseraKind)).toEqual([...KINDS]);
    expect(out.findings.map((f: any) => f.line)).toEqual([3, 4, 5, 6, 7]);
    expect(out.findings.every((f: any) => f.commit === 'STAGED' && f.path === 'README.md')).toBe(true);

    const before = alertsOf().length;
    const revoked = await scan(['--staged', '--revoke', '--json', dir]);
    expect(revoked.code, revoked.stderr).toBe(1);
    expect(JSON.parse(revoked.stdout).revoked).toEqual({ reported: KINDS.length });
    expect(await alive(p)).toEqual([]);
    const alerts = (await waitForAlerts(before + KINDS.length)).slice(before);
    expect(alerts.map((a) => a.alert.fields.kind).sort()).toEqual([...KINDS].sort());
    for (const a of alerts) {
      if (a.alert.fields.kind !== 'dynamic_password') expect(a.alert.fields.owner).toBe(OWNER);
      expect(a.alert.fields.location).toMatch(/^README\.md:\d$/);
    }
    // Again: nothing more is revoked, nobody alerted again, the findings say so.
    const again = await scan(['--staged', '--revoke', '--json', dir]);
    expect(again.code).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(alertsOf().length).toBe(before + KINDS.length);
    const findings = await s.call('GET', '/v1/leaks?limit=500', { token: s.adminToken });
    const mine = findings.body.items.filter((f: any) => f.locations.some((l: any) => l.uri === 'README.md'));
    expect(mine).toHaveLength(KINDS.length);
    for (const f of mine) expect(f).toMatchObject({ outcome: 'revoked', reportCount: 2 });
  });

  it('--history finds credentials a later commit removed, --since limits it, --revoke kills them', async () => {
    const p = await mint();
    const dir = await repo();
    const base = git(dir, 'rev-parse', 'HEAD').trim();
    await writeFile(join(dir, 'deploy.env'), envFile(p));
    git(dir, 'add', '.');
    git(dir, 'commit', '-q', '-m', 'oops');
    const leaky = git(dir, 'rev-parse', 'HEAD').trim();
    git(dir, 'rm', '-q', 'deploy.env');
    git(dir, 'commit', '-q', '-m', 'remove');
    expect((await scan([dir, '--tessera-only'])).code).toBe(0);
    const r = await scan([dir, '--history', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.findings.map((f: any) => f.tesseraKind)).toEqual([...KINDS]);
    expect(out.findings.every((f: any) => f.commit === leaky && f.path === 'deploy.env')).toBe(true);
    expect((await scan([dir, '--history', '--since', leaky])).code).toBe(0);
    const since = await scan([dir, '--history', '--since', base, '--revoke']);
    expect(since.code).toBe(1);
    expect(since.stdout).toContain(`(commit ${leaky.slice(0, 12)})`);
    expect(await alive(p)).toEqual([]);
    const findings = await s.call('GET', '/v1/leaks?limit=500', { token: s.adminToken });
    const mine = findings.body.items.filter((f: any) => f.locations.some((l: any) => l.commit === leaky));
    expect(mine.map((f: any) => f.kind).sort()).toEqual([...KINDS].sort());
  });

  it('shows progress on a terminal, on stderr, and none otherwise', async () => {
    const dir = await repo();
    const onTty = await scan([dir], true);
    expect(onTty.code).toBe(0);
    expect(onTty.stderr).toMatch(/scanned \d+ files, [\d.]+ MB \([\d.]+ MB\/s\), 0 found/);
    expect((await scan([dir])).stderr).toBe('');
    expect((await scan([dir, '--json'], true)).stderr).toBe('');
  });

  it('refuses conflicting modes, a bad format and an allow-list entry without a reason', async () => {
    const dir = await repo();
    expect((await scan([dir, '--staged', '--history'])).code).toBe(2);
    expect((await scan([dir, '--since', 'HEAD'])).code).toBe(2);
    expect((await scan([dir, '--format', 'xml'])).code).toBe(2);
    await writeFile(join(dir, '.tessera-scan-allow.yaml'), '- path: "**"\n');
    const r = await scan([dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs a reason/);
  });
});

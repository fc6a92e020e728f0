/**
 * The Akeyless layer validates names with the native rules before it authorizes (issue 10): a bad
 * name is the Akeyless-shaped 400 — for a caller with no rights too — and no access decision is made
 * or audited for it (no `access.denied`, no `access.granted`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.js';

const BAD_NAMES = ['a/../b', '/a//b', 'bad\nname', 'x y', '/a/./b', 'semi;colon', '/trailing/', 'tab\there'];

/** Each command and the body that names an object with `bad`. */
const COMMANDS: Array<[string, (bad: string) => Record<string, unknown>]> = [
  ['get-auth-method', (bad) => ({ name: bad })],
  ['delete-auth-method', (bad) => ({ name: bad })],
  ['create-auth-method', (bad) => ({ name: bad })],
  ['create-auth-method-universal-identity', (bad) => ({ name: bad })],
  ['uid-generate-token', (bad) => ({ 'auth-method-name': bad })],
  ['uid-list-children', (bad) => ({ 'auth-method-name': bad })],
  ['create-role', (bad) => ({ name: bad })],
  ['get-role', (bad) => ({ name: bad })],
  ['delete-role', (bad) => ({ name: bad })],
  ['set-role-rule', (bad) => ({ 'role-name': bad, path: '/x/*', capability: ['read'] })],
  ['assoc-role-am', (bad) => ({ 'role-name': 'r', 'am-name': bad })],
  // A rule pattern is checked with the native rule-path schema.
  ['set-role-rule', (bad) => ({ 'role-name': 'r', path: bad, capability: ['read'] })],
  ['delete-role-rule', (bad) => ({ 'role-name': 'r', path: bad })],
  ['create-secret', (bad) => ({ name: bad, value: 'v' })],
  ['get-secret-value', (bad) => ({ names: [bad] })],
  ['describe-item', (bad) => ({ name: bad })],
  ['delete-item', (bad) => ({ name: bad })],
  ['list-items', (bad) => ({ path: bad })],
];

describe('Akeyless commands validate names before any access decision', () => {
  let s: TestServer;
  let nobody: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    // A principal with no role at all: every command it may call is refused (403) if authorized first.
    const m = await s.call('POST', '/v1/auth-methods', {
      token: s.adminToken,
      body: { type: 'access_key', name: '/keys/nobody' },
    });
    const a = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: m.body.authMethod.id, accessKey: m.body.accessKey },
    });
    nobody = `t-${a.body.token}`;
  });
  afterAll(async () => {
    await s?.close();
  });

  const decisions = async () =>
    (
      await s.tessera.store.db
        .selectFrom('audit_events')
        .select(['type'])
        .where('type', 'in', ['access.denied', 'access.granted'])
        .execute()
    ).length;

  it('a bad name is a 400 {error} for a caller with no rights, and nothing is decided or audited', async () => {
    const problems: string[] = [];
    for (const [command, body] of COMMANDS) {
      // A folder may end with "/" (`list-items --path /team/`); a rule pattern is characters only
      // (`/a//b` is a pattern that matches nothing, not an error).
      const bads = command.endsWith('role-rule')
        ? BAD_NAMES.filter((n) => !/^[A-Za-z0-9/*+._@:=~-]+$/.test(n))
        : BAD_NAMES.filter((n) => command !== 'list-items' || n !== '/trailing/');
      for (const bad of bads) {
        for (const [who, token] of [
          ['nobody', nobody],
          ['admin', `t-${s.adminToken}`],
        ] as const) {
          await s.tessera.denials.flush(true);
          const before = await decisions();
          const res = await s.call('POST', `/akeyless/${command}`, { body: { ...body(bad), token } });
          await s.tessera.denials.flush(true);
          const label = `${command} ${JSON.stringify(bad)} as ${who}`;
          if (res.status !== 400 || typeof res.body?.error !== 'string')
            problems.push(`${label}: ${res.status} ${JSON.stringify(res.body)}`);
          if ((await decisions()) !== before) problems.push(`${label}: an access decision was audited`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('a valid name still reaches authorization: 403 for the caller with no rights', async () => {
    const res = await s.call('POST', '/akeyless/get-role', { body: { name: 'some-role', token: nobody } });
    expect(res.status).toBe(403);
    const ok = await s.call('POST', '/akeyless/list-items', {
      body: { path: '/', token: `t-${s.adminToken}` },
    });
    expect(ok.status).toBe(200);
  });
});

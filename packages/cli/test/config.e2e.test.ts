import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, root, run, startConfiguredServer } from './server-process.js';

const tessera = (args: string[], env: NodeJS.ProcessEnv) =>
  run(process.execPath, [bin, ...args], env, 60_000);

/** `tessera plan|apply|export` against a real server process: exit codes, hashes, files, problems. */
describe('tessera plan, apply and export against a real server', () => {
  let server: Awaited<ReturnType<typeof startConfiguredServer>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-config-e2e-');
    ({ dir, env } = server);
  }, 90_000);

  afterAll(async () => {
    await server?.close();
  });

  it('export → plan is exit 0; the example is exit 2 until applied with its hash; drift is exit 2', async () => {
    const repo = join(dir, 'identity');
    const exported = await tessera(['export', '--out', repo], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await tessera(['plan', '-f', repo], env)).code).toBe(0);

    cpSync(join(root, 'examples/identity-as-code/identity'), join(repo, 'teams'), { recursive: true });
    const planned = await tessera(['plan', '--file', repo, '--json'], env);
    expect(planned.code, planned.stderr).toBe(2);
    const plan = JSON.parse(planned.stdout);
    expect(plan.summary).toEqual({ create: 11, update: 0, delete: 0 });
    const readable = await tessera(['plan', '--file', repo], env);
    expect(readable.stdout).toContain('+ create identities billing-api');
    expect(readable.stdout).toContain(`Plan hash: ${plan.hash}`);

    const applied = await tessera(['apply', '--file', repo, '--plan-hash', plan.hash], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Applied: 11 created, 0 updated, 0 deleted.');
    expect((await tessera(['plan', '-f', repo], env)).code).toBe(0);

    // An out-of-band change: a role made by hand is drift, and deleting it needs --allow-delete.
    expect((await tessera(['create-role', '--name', 'hand-made'], env)).code).toBe(0);
    const drift = await tessera(['plan', '-f', repo], env);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain('- delete roles hand-made');
    const refused = await tessera(['apply', '-f', repo], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('TESSERA_CONFIG_DELETE_REFUSED');
    // The reviewed plan goes stale when live state moves again.
    const reviewed = JSON.parse((await tessera(['plan', '-f', repo, '--json'], env)).stdout).hash;
    expect((await tessera(['create-role', '--name', 'hand-made-2'], env)).code).toBe(0);
    const stale = await tessera(['apply', '-f', repo, '--allow-delete', '--plan-hash', reviewed], env);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('TESSERA_CONFIG_PLAN_STALE');
    expect((await tessera(['get-role', '--name', 'hand-made'], env)).code).toBe(0);
    expect((await tessera(['apply', '-f', repo, '--allow-delete'], env)).code).toBe(0);
    expect((await tessera(['plan', '-f', repo], env)).code).toBe(0);
  }, 120_000);

  it('writes a generated access key only to --credentials-out (0600), never to the output', async () => {
    const repo = join(dir, 'keys');
    expect((await tessera(['export', '--out', repo], env)).code).toBe(0);
    writeFileSync(
      join(repo, 'ops.yaml'),
      'identities:\n  - { name: ops-bot, kind: other, owner: ops@example.com }\n' +
        'authMethods:\n  - { name: ops-bot-key, type: access_key, identity: ops-bot }\n',
    );
    const out = join(dir, 'new-credentials.json');
    const applied = await tessera(['apply', '-f', repo, '--credentials-out', out, '--json'], env);
    expect(applied.code, applied.stderr).toBe(0);
    const [issued] = JSON.parse(readFileSync(out, 'utf8'));
    expect(issued).toMatchObject({ kind: 'authMethods', name: 'ops-bot-key' });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(applied.stdout).not.toContain(issued.credential.accessKey);
    expect(JSON.parse(applied.stdout).issued).toEqual([{ kind: 'authMethods', name: 'ops-bot-key' }]);
  }, 60_000);

  it('prints every problem of a bad file as file:line:column and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'identities:\n  - name: broken\n    kind: robot\n    ownr: x@example.com\n');
    const r = await tessera(['plan', '-f', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `${bad}:2:5: identities[0]: missing required key "owner"`,
      `${bad}:3:11: identities[0].kind: must be one of "service", "workload", "ci-pipeline", "ai-agent", "mcp-server", "device", "other"`,
      `${bad}:4:11: identities[0].ownr: unknown key "ownr"`,
      '3 problems; nothing was applied.',
    ]);
    // A usage mistake is an error (1), not "changes" (2).
    expect((await tessera(['plan', '--fil', bad], env)).code).toBe(1);
    expect((await tessera(['plan', '-f', join(dir, 'data', 'audit')], env)).code).toBe(1);
    const json = await tessera(['plan', '-f', bad, '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.problems).toHaveLength(3);
  }, 60_000);
});

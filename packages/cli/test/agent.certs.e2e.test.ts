import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, runSteps, startConfiguredServer } from './server-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The agent keeps a certificate from the internal CA (issue 13): renewed at about half its life,
 * and a SIGKILL at any moment leaves `current/` on a key and certificate that match and verify.
 */
describe('tessera agent keeps a certificate', () => {
  let server: ConfiguredServer;
  let dir: string;
  let url: string;
  let env: NodeJS.ProcessEnv;
  const tessera = (args: string[]) => run(process.execPath, [bin, ...args], env);

  /**
   * openssl: the key and the certificate in `current/` match, and the certificate verifies against
   * the bundle (`atAnyTime`: its signature and chain only; whether it is still current is liveness).
   */
  function pairIsValid(certDir: string, atAnyTime = false): { ok: boolean; why: string } {
    const cur = join(certDir, 'current');
    const files = ['key.pem', 'cert.pem', 'bundle.pem'].map((f) => join(cur, f));
    if (!files.every((f) => existsSync(f))) return { ok: false, why: 'missing files' };
    const fromKey = execFileSync('openssl', ['pkey', '-in', files[0]!, '-pubout']).toString();
    const fromCert = execFileSync('openssl', ['x509', '-in', files[1]!, '-noout', '-pubkey']).toString();
    if (fromKey !== fromCert) return { ok: false, why: 'key and certificate do not match' };
    const verified = spawnSync(
      'openssl',
      ['verify', ...(atAnyTime ? ['-no_check_time'] : []), '-CAfile', files[2]!, files[1]!],
      { encoding: 'utf8' },
    );
    return { ok: verified.status === 0, why: verified.stdout + verified.stderr };
  }

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-agent-cert-', { startTimeoutMs: 60_000 });
    ({ dir, url, env } = server);
    const steps: string[][] = [
      ['cert', 'ca-create', '--trust-domain', 'agent.test'],
      ['cert', 'profile', '--name', 'agent', '--max-ttl', '60s', '--ext-key-usages', 'clientAuth'],
      [
        'auth-method',
        'create',
        'universal-identity',
        '--name',
        '/agent/cert',
        '--ttl',
        '60',
        '--jwt-ttl',
        '1',
      ],
      ['create-role', '--name', 'cert-holders'],
      [
        'set-role-rule',
        '--role-name',
        'cert-holders',
        '--rule-type',
        'pki',
        '--path',
        '/agent',
        '--capability',
        'create',
      ],
      ['assoc-role-am', '--role-name', 'cert-holders', '--am-name', '/agent/cert'],
    ];
    await runSteps(env, steps);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('renews before expiry, and a SIGKILL at any point leaves a valid pair', async () => {
    const issued = await tessera(['uid-generate-token', '--auth-method-name', '/agent/cert', '--json']);
    expect(issued.code, issued.stderr).toBe(0);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `UID_TOKEN=${JSON.parse(issued.stdout).token}\n`, { mode: 0o600 });
    const certDir = join(dir, 'certs');
    const config = join(dir, 'agent.yaml');
    // 10 s certificates renewed at about 3 s: many renewals in a short test.
    writeFileSync(
      config,
      [
        `server_url: ${url}`,
        `uid_token_file: ${tokenFile}`,
        'certificate:',
        '  profile: agent',
        `  dir: ${certDir}`,
        '  ttl_seconds: 10',
        '  renew_at_fraction: 0.3',
      ].join('\n'),
    );
    const once = await tessera(['agent', '--config', config, '--once', '--json']);
    expect(once.code, once.stderr).toBe(0);
    const first = JSON.parse(once.stdout).certificate;
    expect(first.serial).toMatch(/^[0-9a-f]+$/);
    expect(pairIsValid(certDir)).toMatchObject({ ok: true });
    expect(statSync(join(certDir, 'current', 'key.pem')).mode & 0o777).toBe(0o600);

    // Renewal before expiry: the serial changes while the first certificate is still valid.
    const agent = spawn(process.execPath, [bin, 'agent', '--config', config, '--json'], { stdio: 'ignore' });
    const serialNow = () =>
      JSON.parse(readFileSync(join(certDir, 'current', 'meta.json'), 'utf8')).serial as string;
    const until = Date.now() + 15_000;
    while (serialNow() === first.serial && Date.now() < until) await sleep(100);
    expect(serialNow()).not.toBe(first.serial);
    expect(Date.now()).toBeLessThan(Date.parse(first.notAfter));
    agent.kill('SIGKILL');

    // SIGKILL at many points of the cycle (key generation, issuance, file writes, the swap).
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const proc = spawn(process.execPath, [bin, 'agent', '--config', config, '--json'], { stdio: 'ignore' });
      const exited = new Promise((r) => proc.once('exit', r));
      await sleep(500 + Math.floor(Math.random() * 3500));
      proc.kill('SIGKILL');
      await exited;
      // A killed agent may not have reached its renewal: the pair must be whole and signed.
      const check = pairIsValid(certDir, true);
      expect(check.ok, check.why).toBe(true);
      seen.add(readlinkSync(join(certDir, 'current')));
    }
    expect(seen.size).toBeGreaterThan(1); // renewals happened between kills
  }, 120_000);
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, runSteps, startConfiguredServer } from './server-process.js';

/**
 * `tessera cert issue --generate-key` (issue 13, ADR 0035): the server makes the key pair only when
 * asked; the CLI writes the key once, mode 0600, and never prints it.
 */
describe('tessera cert issue --generate-key', () => {
  let server: ConfiguredServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const tessera = (args: string[]) => run(process.execPath, [bin, ...args], env);

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-cert-genkey-', { startTimeoutMs: 60_000 });
    ({ dir, env } = server);
    await runSteps(env, [
      ['cert', 'ca-create', '--trust-domain', 'genkey.test'],
      ['cert', 'profile', '--name', 'web', '--max-ttl', '1h', '--dns-names', '{identity}.internal'],
      ['identity', 'create', '--name', 'api', '--kind', 'service', '--owner', 'team-a'],
      ['cert', 'bundle', '--out', join(dir, 'ca.pem')],
    ]);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('writes the key 0600 beside a certificate that matches it and verifies', async () => {
    const key = join(dir, 'api.key');
    const cert = join(dir, 'api.pem');
    const r = await tessera([
      'cert',
      'issue',
      '--cert-profile',
      'web',
      '--identity',
      'api',
      '--generate-key',
      '--dns-names',
      'api.internal',
      '--key-out',
      key,
      '--cert-out',
      cert,
      '--ttl',
      '10m',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('PRIVATE KEY');
    const out = JSON.parse(r.stdout);
    expect(out.privateKeyPem).toBeUndefined();
    expect(out.privateKeyFile).toBe(key);
    expect(out.notAfterCappedBy).toBe('ttl');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toContain('BEGIN PRIVATE KEY');
    const fromKey = execFileSync('openssl', ['pkey', '-in', key, '-pubout']).toString();
    const fromCert = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-pubkey']).toString();
    expect(fromKey).toBe(fromCert);
    execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), cert]);
    const sans = execFileSync('openssl', [
      'x509',
      '-in',
      cert,
      '-noout',
      '-ext',
      'subjectAltName',
    ]).toString();
    expect(sans).toContain('DNS:api.internal');
    expect(sans).toContain('URI:spiffe://genkey.test/identity/api');
  }, 60_000);

  it('refuses to generate a key it would have nowhere to write, and mixed flags', async () => {
    const noOut = await tessera([
      'cert',
      'issue',
      '--cert-profile',
      'web',
      '--identity',
      'api',
      '--generate-key',
    ]);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toContain('--key-out');
    const both = await tessera([
      'cert',
      'issue',
      '--cert-profile',
      'web',
      '--csr',
      join(dir, 'nope.csr'),
      '--generate-key',
      '--key-out',
      join(dir, 'x.key'),
    ]);
    expect(both.code).not.toBe(0);
    expect(existsSync(join(dir, 'x.key'))).toBe(false);
  }, 60_000);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bin,
  cliEnv,
  configureAdmin,
  readAdmin,
  run,
  runSteps,
  startServerProcess,
} from './server-process.js';

/**
 * `tessera auth --access-type certificate --cert F --key F [--ca F]` (issue 13): the CLI signs in
 * over mTLS, against a real `tessera server` serving TLS, with a certificate of the internal CA.
 */
describe('tessera auth --access-type certificate', () => {
  let dir: string;
  let stop: () => Promise<void>;
  let url = '';
  /** The administrator's environment: it trusts the server's self-signed certificate. */
  let adminEnv: NodeJS.ProcessEnv;
  /** A workload's environment: no admin profile, no extra trusted CA. */
  let workloadEnv: NodeJS.ProcessEnv;
  let methodId = '';
  let identityId = '';
  let serial = '';
  const tessera = (args: string[], env = adminEnv) => run(process.execPath, [bin, ...args], env);
  const path = (name: string) => join(dir, name);
  const signIn = (extra: string[], env = workloadEnv) =>
    tessera(['auth', '--access-type', 'certificate', '--access-id', methodId, '--json', ...extra], env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-mtls-'));
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-days', '2', '-keyout', path('server.key'), '-out', path('server.pem')],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'pipe' },
    );
    const server = await startServerProcess(path('data'), {
      startTimeoutMs: 60_000,
      tls: { cert: path('server.pem'), key: path('server.key') },
    });
    stop = server.stop;
    url = server.url;
    adminEnv = { ...cliEnv(dir, url, path('admin')), NODE_EXTRA_CA_CERTS: path('server.pem') };
    workloadEnv = cliEnv(dir, url, path('workload'));
    delete workloadEnv.NODE_EXTRA_CA_CERTS;
    await configureAdmin(adminEnv, readAdmin(path('data')));
    await runSteps(adminEnv, [
      ['cert', 'ca-create', '--trust-domain', 'cli-mtls.test'],
      ['cert', 'profile', '--name', 'mtls', '--max-ttl', '1h', '--ext-key-usages', 'clientAuth'],
    ]);
    const identity = await tessera([
      ...['identity', 'create', '--name', 'api', '--kind', 'service', '--owner', 'team-a', '--json'],
    ]);
    expect(identity.code, identity.stderr).toBe(0);
    identityId = JSON.parse(identity.stdout).id;
    const method = await tessera([
      ...['auth-method', 'create', 'certificate', '--name', '/mtls/internal', '--identity-id', identityId],
    ]);
    expect(method.code, method.stderr).toBe(0);
    methodId = method.stdout.trim();
    const issued = await tessera([
      ...['cert', 'issue', '--cert-profile', 'mtls', '--identity', 'api', '--generate-key'],
      ...['--key-out', path('api.key'), '--cert-out', path('api.pem'), '--json'],
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    serial = JSON.parse(issued.stdout).certificate.serial;
  }, 180_000);

  afterAll(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in over mTLS as the certificate’s identity, and the session token works', async () => {
    const r = await signIn(['--cert', path('api.pem'), '--key', path('api.key'), '--ca', path('server.pem')]);
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout);
    const claims = JSON.parse(Buffer.from(answer.token.split('.')[1], 'base64url').toString());
    expect(claims.sub).toBe(identityId);
    // The plain output is the same as for the other access types.
    const plain = await tessera(
      [
        ...['auth', '--access-type', 'certificate', '--access-id', methodId],
        ...['--cert', path('api.pem'), '--key', path('api.key'), '--ca', path('server.pem')],
      ],
      workloadEnv,
    );
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('Authentication succeeded.');
    expect(plain.stdout).toContain(`Token: t-${answer.token.split('.')[0]}`);
    // The token is accepted as a credential (what the identity may do is up to its roles).
    const self = await tessera(['--token', answer.token, 'identity', 'get', '--id', identityId, '--json'], {
      ...workloadEnv,
      NODE_EXTRA_CA_CERTS: path('server.pem'),
    });
    expect(self.code === 0 || self.stderr.includes('TESSERA_FORBIDDEN'), self.stderr).toBe(true);
    expect(self.stderr).not.toContain('TESSERA_AUTH_FAILED');
  });

  it('trusts the server through NODE_EXTRA_CA_CERTS too, and refuses a server it cannot trust', async () => {
    const trusted = await signIn(['--cert', path('api.pem'), '--key', path('api.key')], {
      ...workloadEnv,
      NODE_EXTRA_CA_CERTS: path('server.pem'),
    });
    expect(trusted.code, trusted.stderr).toBe(0);
    const untrusted = await signIn(['--cert', path('api.pem'), '--key', path('api.key')]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toBe('');
  });

  it('says what is missing: a key, an https URL, an access id; and keeps the flags to certificates', async () => {
    const noKey = await signIn(['--cert', path('api.pem')]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--key FILE');
    const http = await signIn([
      ...['--cert', path('api.pem'), '--key', path('api.key'), '--url', url.replace('https:', 'http:')],
    ]);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('https://');
    const unreadable = await signIn(['--cert', path('missing.pem'), '--key', path('api.key')]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain('cannot be read');
    const noId = await tessera(
      ['auth', '--access-type', 'certificate', '--cert', path('api.pem'), '--key', path('api.key')],
      workloadEnv,
    );
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('--access-id');
    const mixed = await tessera(
      ['auth', '--access-id', methodId, '--access-key', 'x', '--cert', path('api.pem')],
      workloadEnv,
    );
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--access-type certificate');
  });

  it('is refused (401, exit 1) once the certificate is revoked', async () => {
    expect((await tessera(['cert', 'revoke', '--serial', serial])).code).toBe(0);
    const r = await signIn(['--cert', path('api.pem'), '--key', path('api.key'), '--ca', path('server.pem')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TESSERA_AUTH_FAILED');
  });
});

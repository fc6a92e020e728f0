import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-pki-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A P-256 key and a CSR made by openssl (a client we did not write). */
export function opensslCsr(
  name: string,
  subject: string,
  sans: string | null,
  keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
) {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subject,
      ...(sans ? ['-addext', `subjectAltName=${sans}`] : []),
    ],
    { stdio: 'pipe' },
  );
  return { key, csr: readFileSync(csr, 'utf8') };
}

/** `openssl verify` at the test clock's time; returns [exit code, output]. */
function opensslVerify(bundle: string, cert: string, atMs: number, crl?: string): [number, string] {
  const b = join(work, 'bundle.pem');
  const c = join(work, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(b, bundle);
  writeFileSync(c, cert);
  const args = ['verify', '-attime', String(Math.floor(atMs / 1000)), '-CAfile', b];
  if (crl) {
    const f = join(work, 'crl.pem');
    writeFileSync(f, crl);
    args.push('-crl_check', '-CRLfile', f);
  }
  const r = spawnSync('openssl', [...args, c], { encoding: 'utf8' });
  return [r.status ?? -1, `${r.stdout}${r.stderr}`];
}

describe.each(STORES)('internal CA on %s', (store) => {
  let s: TestServer;
  let identityName = '';
  let workloadToken = '';
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: s.adminToken, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    s = await startTestServer(store);
    identityName = `svc-${Math.random().toString(36).slice(2, 8)}`;
    const identity = await admin('POST', '/v1/identities', {
      name: identityName,
      kind: 'service',
      owner: 'team-a',
    });
    expect(identity.status).toBe(201);
    const method = await admin('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `/pki-test/${identityName}`,
      identityId: identity.body.id,
    });
    expect(method.status).toBe(201);
    expect((await admin('POST', '/v1/roles', { name: 'pki-web' })).status).toBe(201);
    expect(
      (
        await admin('POST', '/v1/roles/pki-web/rules', {
          ruleType: 'pki',
          path: '/web',
          capabilities: ['create'],
        })
      ).status,
    ).toBe(200);
    expect(
      (await admin('POST', '/v1/roles/pki-web/associations', { authMethodId: method.body.authMethod.id }))
        .status,
    ).toBe(201);
    const auth = await s.call('POST', '/v1/auth', {
      body: {
        accessType: 'access_key',
        accessId: method.body.authMethod.id,
        accessKey: method.body.accessKey,
      },
    });
    expect(auth.status).toBe(200);
    workloadToken = auth.body.token;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('creates one CA whose key is sealed, never stored in plaintext', async () => {
    expect((await s.call('GET', '/pki/ca.pem')).status).toBe(409);
    const ca = await admin('POST', '/v1/pki/ca', { trustDomain: 'example.org' });
    expect(ca.status).toBe(201);
    expect(ca.body.certificatePem).toContain('BEGIN CERTIFICATE');
    expect((await admin('POST', '/v1/pki/ca', { trustDomain: 'example.org' })).status).toBe(409);
    const sealed = await s.tessera.store.db
      .selectFrom('root_sealed_keys')
      .select(['name', 'sealed'])
      .where('name', '=', `pki-ca:${ca.body.id}`)
      .executeTakeFirstOrThrow();
    expect(sealed.sealed).toMatch(/^v1\./);
    const dump = JSON.stringify(await s.tessera.store.db.selectFrom('pki_cas').selectAll().execute());
    expect(dump).not.toContain('PRIVATE KEY');
    const bundle = await s.call('GET', '/pki/ca.pem');
    expect(bundle.status).toBe(200);
    expect(bundle.body).toBe(ca.body.certificatePem);
  });

  it('issues from a CSR a certificate that openssl verifies against the bundle, even with a 60 s profile', async () => {
    const profile = await admin('PUT', '/v1/pki/profiles/web', {
      maxTtlSeconds: 60,
      spiffeIdPath: '/workload/{identity}',
      dnsNames: ['{identity}.svc.cluster.local'],
      keyTypes: ['ec-p256', 'rsa-2048'],
    });
    expect(profile.status).toBe(200);
    expect(profile.body.defaultTtlSeconds).toBe(60);
    const spiffe = `spiffe://example.org/workload/${identityName}`;
    const { csr } = opensslCsr(
      'ok',
      `/CN=${identityName}`,
      `URI:${spiffe},DNS:${identityName}.svc.cluster.local`,
    );
    const issued = await s.call('POST', '/v1/pki/issue/web', { token: workloadToken, body: { csr } });
    expect(issued.status).toBe(200);
    expect(issued.body.certificate.spiffeId).toBe(spiffe);
    const notBefore = Date.parse(issued.body.certificate.notBefore);
    const notAfter = Date.parse(issued.body.certificate.notAfter);
    expect(notAfter - s.clock.ms).toBe(60_000); // the TTL runs from now
    expect(s.clock.ms - notBefore).toBe(60_000); // backdated for skew
    const [code, out] = opensslVerify(issued.body.caBundlePem, issued.body.certificatePem, s.clock.ms);
    expect(out).toContain('OK');
    expect(code).toBe(0);
    // 61 s later it has expired (openssl agrees)
    expect(
      opensslVerify(issued.body.caBundlePem, issued.body.certificatePem, s.clock.ms + 61_000)[0],
    ).not.toBe(0);
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
      input: issued.body.certificatePem,
    }).toString();
    expect(text).toContain(`URI:${spiffe}`);
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).toContain('CA:FALSE');
    // No SAN in the CSR: the SPIFFE ID is added; an RSA key is allowed by this profile.
    const bare = opensslCsr('bare', '/O=x', null, ['-newkey', 'rsa:2048']);
    const b = await s.call('POST', '/v1/pki/issue/web', {
      token: workloadToken,
      body: { csr: bare.csr, ttlSeconds: 30 },
    });
    expect(b.status).toBe(200);
    expect(opensslVerify(b.body.caBundlePem, b.body.certificatePem, s.clock.ms)[0]).toBe(0);
  });

  it('refuses names outside the profile and the identity, foreign key types, long TTLs and bad CSRs', async () => {
    const refused = async (csr: string, reason: string, extra: Record<string, unknown> = {}) => {
      const r = await s.call('POST', '/v1/pki/issue/web', { token: workloadToken, body: { csr, ...extra } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('TESSERA_CSR_REFUSED');
      expect(r.body.error.details.reason).toBe(reason);
    };
    await refused(opensslCsr('u', '/CN=x', 'URI:spiffe://example.org/workload/other').csr, 'uri_not_allowed');
    await refused(opensslCsr('d', `/CN=${identityName}`, 'DNS:evil.example.com').csr, 'dns_name_not_allowed');
    await refused(opensslCsr('i', `/CN=${identityName}`, 'IP:10.0.0.1').csr, 'san_kind_not_allowed');
    await refused(opensslCsr('c', '/CN=admin', null).csr, 'common_name_not_allowed');
    await refused(
      opensslCsr('p', `/CN=${identityName}`, null, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'])
        .csr,
      'key_type_not_allowed',
    );
    await refused(
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      'csr_invalid',
    );
    const { csr } = opensslCsr('t', `/CN=${identityName}`, null);
    const long = await s.call('POST', '/v1/pki/issue/web', {
      token: workloadToken,
      body: { csr, ttlSeconds: 61 },
    });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    // no rule on another profile
    await admin('PUT', '/v1/pki/profiles/db', {});
    expect((await s.call('POST', '/v1/pki/issue/db', { token: workloadToken, body: { csr } })).status).toBe(
      403,
    );
    // issuing for another identity needs update on it
    const other = await s.call('POST', '/v1/pki/issue/web', {
      token: workloadToken,
      body: { csr, identity: 'someone-else' },
    });
    expect(other.status).toBe(403);
  });

  it('revokes: the CRL lists the serial and openssl -crl_check refuses the certificate', async () => {
    const { csr } = opensslCsr('r', `/CN=${identityName}`, null);
    const issued = await s.call('POST', '/v1/pki/issue/web', { token: workloadToken, body: { csr } });
    const serial = issued.body.certificate.serial as string;
    const before = await s.call('GET', '/pki/crl?format=pem');
    const ok = opensslVerify(issued.body.caBundlePem, issued.body.certificatePem, s.clock.ms, before.body);
    expect(ok[1]).toContain(': OK');
    expect(ok[0]).toBe(0);
    // the workload may not revoke; the administrator may
    expect(
      (await s.call('POST', `/v1/pki/certificates/${serial}/revoke`, { token: workloadToken })).status,
    ).toBe(403);
    const revoked = await admin('POST', `/v1/pki/certificates/${serial}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    const crl = await s.call('GET', '/pki/crl?format=pem');
    const listed = execFileSync('openssl', ['crl', '-noout', '-text'], { input: crl.body }).toString();
    expect(listed.toLowerCase().replace(/:/g, '')).toContain(serial);
    const [code, out] = opensslVerify(
      issued.body.caBundlePem,
      issued.body.certificatePem,
      s.clock.ms,
      crl.body,
    );
    expect(code).not.toBe(0);
    expect(out).toContain('revoked');
    const der = await s.tessera.app.inject({ method: 'GET', url: '/pki/crl' });
    expect(der.headers['content-type']).toContain('application/pkix-crl');
    const events = (await admin('GET', '/v1/audit/events?type=pki.certificate_revoked&limit=1')).body.items;
    expect(events[0].data.serials).toEqual([serial]);
  });
});

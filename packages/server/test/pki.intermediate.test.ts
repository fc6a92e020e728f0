import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer } from './harness.js';

/**
 * An intermediate CA (issue 13, ADR 0040): Tessera makes the key and the CSR, an outside root —
 * here `openssl`, a CA we did not write — signs it, and certificates issued from the intermediate
 * verify with `openssl verify -CAfile root -untrusted intermediate`.
 */
const work = mkdtempSync(join(tmpdir(), 'tessera-pki-inter-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const file = (name: string, content?: string | Buffer) => {
  const path = join(work, name);
  if (content !== undefined) writeFileSync(path, content);
  return path;
};
const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString();
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed root made by openssl (its default v3_ca extensions: CA:TRUE, key identifiers). */
function outsideRoot(name: string) {
  // Its own files: each store's suite makes its own root.
  const at = `root-${Math.random().toString(36).slice(2)}`;
  const key = file(`${at}.key`);
  const cert = file(`${at}.pem`);
  ssl(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '3650']);
  return { key, cert, pem: readFileSync(cert, 'utf8') };
}

const CA_EXTENSIONS = [
  'basicConstraints=critical,CA:TRUE,pathlen:0',
  'keyUsage=critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier=hash',
  'authorityKeyIdentifier=keyid',
].join('\n');

/** What the outside root's operator does with a CSR: `openssl x509 -req` with the given extensions. */
function signCsr(root: { key: string; cert: string }, csrPem: string, extensions = CA_EXTENSIONS): string {
  const csr = file(`req-${Math.random().toString(36).slice(2)}.csr`, csrPem);
  const ext = file(`ext-${Math.random().toString(36).slice(2)}.cnf`, extensions);
  const out = file(`signed-${Math.random().toString(36).slice(2)}.pem`);
  ssl([
    ...['x509', '-req', '-in', csr, '-CA', root.cert, '-CAkey', root.key, '-set_serial', '0x1234'],
    ...['-days', '365', '-extfile', ext, '-out', out],
  ]);
  return readFileSync(out, 'utf8');
}

/**
 * `openssl verify` ten minutes after the test clock's time (within the leaf's hour, after the
 * outside root signed the intermediate however slow the run); [exit code, output].
 */
function verify(args: string[], certPem: string, clockMs: number): [number, string] {
  const cert = file(`leaf-${Math.random().toString(36).slice(2)}.pem`, certPem);
  const at = String(Math.floor(clockMs / 1000) + 600);
  const r = spawnSync('openssl', ['verify', '-attime', at, ...args, cert], {
    encoding: 'utf8',
  });
  return [r.status ?? -1, `${r.stdout}${r.stderr}`];
}

describe.each(STORES)('intermediate CA signed by an outside root on %s', (store) => {
  let s: TestServer;
  let token = '';
  const root = outsideRoot('Outside Root');
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token, ...(body === undefined ? {} : { body }) });
  const importCert = (certificatePem: string, chainPem: string) =>
    admin('POST', '/v1/pki/ca/intermediate/certificate', { certificatePem, chainPem });

  beforeAll(async () => {
    s = await startTestServer(store);
    // openssl signs with the real time: the test clock follows it (a slow run stays within the
    // five minutes of skew the import allows for an outside CA's notBefore).
    s.clock.ms = Date.now() + 60_000;
    token = await adminSession(s);
  });
  afterAll(async () => {
    await s?.close();
  });

  let csrPem = '';
  it('makes the intermediate key (sealed) and a CSR an outside CA can sign; nothing is active yet', async () => {
    expect((await admin('GET', '/v1/pki/ca/intermediate')).status).toBe(404);
    const created = await admin('POST', '/v1/pki/ca/intermediate', {
      trustDomain: 'inter.test',
      commonName: 'Tessera Issuing CA',
    });
    expect(created.status).toBe(201);
    csrPem = created.body.csrPem;
    // openssl checks the CSR's signature and sees what it asks for.
    const text = ssl(['req', '-in', file('pending.csr', csrPem), '-noout', '-verify', '-text']);
    expect(text).toContain('CN = Tessera Issuing CA');
    expect(text).toContain('CA:TRUE');
    expect(text).toContain('URI:spiffe://inter.test');
    expect((await admin('GET', '/v1/pki/ca/intermediate')).body.csrPem).toBe(csrPem);
    const again = await admin('POST', '/v1/pki/ca/intermediate', { trustDomain: 'inter.test' });
    expect(again.status).toBe(409);
    const sealed = await s.tessera.store.db
      .selectFrom('root_sealed_keys')
      .select('sealed')
      .where('name', '=', `pki-ca:${created.body.id}`)
      .executeTakeFirstOrThrow();
    expect(sealed.sealed).toMatch(/^v1\./);
    const dump = JSON.stringify(await s.tessera.store.db.selectFrom('pki_pending_cas').selectAll().execute());
    expect(dump).not.toContain('PRIVATE KEY');
    // Not a CA until its certificate is imported.
    expect((await admin('GET', '/v1/pki/ca')).status).toBe(404);
    expect((await s.call('GET', '/pki/ca.pem')).status).toBe(409);
  });

  it('refuses a certificate for another key, a non-CA certificate, and a chain that does not lead to it', async () => {
    const otherKey = file('other.key');
    const otherCsr = file('other.csr');
    ssl(['req', '-new', ...EC, '-keyout', otherKey, '-out', otherCsr, '-subj', '/CN=Other']);
    const refusals: Array<[string, string, string]> = [
      [signCsr(root, readFileSync(otherCsr, 'utf8')), root.pem, 'not for the key'],
      [signCsr(root, csrPem, 'basicConstraints=critical,CA:FALSE'), root.pem, 'not a CA certificate'],
      [signCsr(root, csrPem, CA_EXTENSIONS.replace('keyCertSign,', '')), root.pem, 'keyCertSign'],
      [signCsr(root, csrPem), outsideRoot('Stranger Root').pem, 'did not sign'],
      [signCsr(root, csrPem), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'chainPem'],
      [`${signCsr(root, csrPem)}${root.pem}`, root.pem, 'exactly one'],
    ];
    for (const [certificatePem, chainPem, reason] of refusals) {
      const r = await importCert(certificatePem, chainPem);
      expect(r.status, `${reason}: ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
      expect(r.body.error.message).toContain(reason);
    }
    // A leaf signed by the root, given as the chain, is not a CA: refused too.
    const leafKey = file('leafchain.key');
    const leafCsr = file('leafchain.csr');
    ssl(['req', '-new', ...EC, '-keyout', leafKey, '-out', leafCsr, '-subj', '/CN=leaf']);
    const notCa = signCsr(root, readFileSync(leafCsr, 'utf8'), 'basicConstraints=CA:FALSE');
    expect((await importCert(signCsr(root, csrPem), `${notCa}${root.pem}`)).status).toBe(400);
    // Still pending, still no CA.
    expect((await admin('GET', '/v1/pki/ca/intermediate')).status).toBe(200);
    expect((await admin('GET', '/v1/pki/ca')).status).toBe(404);
  });

  it('activates with the signed certificate; issued certificates verify against the outside root through it', async () => {
    const intermediatePem = signCsr(root, csrPem);
    const imported = await importCert(intermediatePem, root.pem);
    expect(imported.status, JSON.stringify(imported.body)).toBe(201);
    expect(imported.body).toMatchObject({ kind: 'intermediate', trustDomain: 'inter.test' });
    expect(imported.body.chainPem).toContain('BEGIN CERTIFICATE');
    expect((await admin('GET', '/v1/pki/ca')).body.kind).toBe('intermediate');
    expect((await admin('GET', '/v1/pki/ca/intermediate')).status).toBe(404);
    expect((await importCert(intermediatePem, root.pem)).status).toBe(404);
    expect((await admin('POST', '/v1/pki/ca', { trustDomain: 'inter.test' })).status).toBe(409);
    expect((await admin('POST', '/v1/pki/ca/intermediate', { trustDomain: 'inter.test' })).status).toBe(409);
    const events = (await admin('GET', '/v1/audit/events?type=pki.ca_created&limit=1')).body.items;
    expect(events[0].data).toMatchObject({ kind: 'intermediate', chainLength: 1 });

    const name = `svc-${Math.random().toString(36).slice(2, 8)}`;
    expect((await admin('POST', '/v1/identities', { name, kind: 'service', owner: 'team-i' })).status).toBe(
      201,
    );
    expect((await admin('PUT', '/v1/pki/profiles/inter', { maxTtlSeconds: 3600 })).status).toBe(200);
    const leafCsr = file('leaf.csr');
    ssl(['req', '-new', ...EC, '-keyout', file('leaf.key'), '-out', leafCsr, '-subj', `/CN=${name}`]);
    const issued = await admin('POST', '/v1/pki/issue/inter', {
      csr: readFileSync(leafCsr, 'utf8'),
      identity: name,
    });
    expect(issued.status).toBe(200);
    const leaf = issued.body.certificatePem as string;
    const intermediate = file('intermediate.pem', intermediatePem);
    const [code, out] = verify(['-CAfile', root.cert, '-untrusted', intermediate], leaf, s.clock.ms);
    expect(out).toContain('OK');
    expect(code).toBe(0);
    // The root alone does not verify it: it was signed by the intermediate.
    expect(verify(['-CAfile', root.cert], leaf, s.clock.ms)[0]).not.toBe(0);
    // The published trust bundle is the chain: intermediate then root.
    const bundle = await s.call('GET', '/pki/ca.pem');
    expect(bundle.status).toBe(200);
    expect(bundle.body).toBe(issued.body.caBundlePem);
    expect(bundle.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(verify(['-CAfile', file('bundle.pem', bundle.body)], leaf, s.clock.ms)[0]).toBe(0);

    // Revoked: the intermediate's CRL says so to openssl.
    expect(
      (await admin('POST', `/v1/pki/certificates/${issued.body.certificate.serial}/revoke`)).status,
    ).toBe(200);
    const crl = await s.call('GET', '/pki/crl?format=pem');
    const [revokedCode, revokedOut] = verify(
      ['-crl_check', '-CAfile', root.cert, '-untrusted', intermediate, '-CRLfile', file('crl.pem', crl.body)],
      leaf,
      s.clock.ms,
    );
    expect(revokedOut).toContain('revoked');
    expect(revokedCode).not.toBe(0);

    // The OCSP responder answers for the intermediate's certificates, signed by the intermediate.
    const leafFile = file('leaf.pem', leaf);
    const request = file('ocsp.req');
    ssl(['ocsp', '-issuer', intermediate, '-cert', leafFile, '-no_nonce', '-reqout', request]);
    const answer = await s.tessera.app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: readFileSync(request),
    });
    expect(answer.statusCode).toBe(200);
    const status = ssl([
      ...['ocsp', '-respin', file('ocsp.der', answer.rawPayload)],
      ...['-issuer', intermediate, '-cert', leafFile, '-CAfile', root.cert, '-verify_other', intermediate],
      '-no_nonce',
    ]);
    expect(status).toContain(`${leafFile}: revoked`);
  });
});

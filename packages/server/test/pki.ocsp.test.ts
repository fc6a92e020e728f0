import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-ocsp-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * `openssl ocsp`, the real client we did not write; returns exit code and output. Asynchronous:
 * the server it asks runs in this process.
 */
function ocsp(args: string[]): Promise<[number, string]> {
  return new Promise((resolve) => {
    execFile('openssl', ['ocsp', ...args], { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) =>
      resolve([error ? ((error as { code?: number }).code ?? -1) : 0, `${stdout}${stderr}`]),
    );
  });
}

describe.each(STORES)('OCSP responder of the internal CA on %s (RFC 6960)', (store) => {
  let s: TestServer;
  let url = '';
  const caFile = join(work, `${store}-ca.pem`);
  const certFile = join(work, `${store}-cert.pem`);
  const otherFile = join(work, `${store}-other.pem`);
  let serial = '';
  let adminToken = '';
  const admin = (method: string, path: string, body?: unknown) =>
    s.call(method, path, { token: adminToken, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    s = await startTestServer(store);
    // openssl checks thisUpdate/nextUpdate against the wall clock.
    s.clock.ms = Date.now();
    const signIn = await s.call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
    });
    adminToken = signIn.body.token;
    const name = `ocsp-${Math.random().toString(36).slice(2, 8)}`;
    expect((await admin('POST', '/v1/identities', { name, kind: 'service', owner: 'team-a' })).status).toBe(
      201,
    );
    // Before any CA: an OCSP "unauthorized" answer (RFC 6960 §2.3), not an HTTP error.
    const early = await s.tessera.app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: Buffer.from([0x30, 0x00]),
    });
    expect(early.statusCode).toBe(200);
    expect(early.rawPayload.toString('hex')).toBe('30030a0106');
    const ca = await admin('POST', '/v1/pki/ca', { trustDomain: 'example.org' });
    expect(ca.status).toBe(201);
    writeFileSync(caFile, ca.body.certificatePem);
    expect((await admin('PUT', '/v1/pki/profiles/svc', { maxTtlSeconds: 3600 })).status).toBe(200);
    const key = join(work, `${store}.key`);
    const csrFile = join(work, `${store}.csr`);
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csrFile,
        '-subj',
        `/CN=${name}`,
      ],
      { stdio: 'pipe' },
    );
    const csr = readFileSync(csrFile, 'utf8');
    const issued = await admin('POST', '/v1/pki/issue/svc', { csr, identity: name });
    expect(issued.status).toBe(200);
    serial = issued.body.certificate.serial;
    writeFileSync(certFile, issued.body.certificatePem);
    const other = await admin('POST', '/v1/pki/issue/svc', { csr, identity: name });
    writeFileSync(otherFile, other.body.certificatePem);
    const address = await s.tessera.app.listen({ host: '127.0.0.1', port: 0 });
    url = `${address}/pki/ocsp`;
  }, 180_000); // a loaded shared machine: server start, CA creation (loads the X.509 library), openssl
  afterAll(async () => {
    await s?.close();
  });

  it('puts the responder into each certificate (authorityInfoAccess, id-ad-ocsp)', () => {
    const uri = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ocsp_uri']).toString().trim();
    expect(uri).toBe('http://tessera.test/pki/ocsp');
  });

  it('POST: good before revocation, revoked after, with a signature openssl verifies and the nonce echoed', async () => {
    const [code, out] = await ocsp(['-issuer', caFile, '-cert', certFile, '-CAfile', caFile, '-url', url]);
    expect(out).toContain('Response verify OK');
    expect(out).toContain(`${certFile}: good`);
    expect(out).not.toMatch(/nonce/i); // openssl warns when the nonce it sent is not echoed
    expect(code).toBe(0);
    expect((await admin('POST', `/v1/pki/certificates/${serial}/revoke`)).status).toBe(200);
    const [code2, out2] = await ocsp(['-issuer', caFile, '-cert', certFile, '-CAfile', caFile, '-url', url]);
    expect(out2).toContain('Response verify OK');
    expect(out2).toContain(`${certFile}: revoked`);
    expect(out2).toContain('Revocation Time');
    expect(code2).toBe(0);
    // Several certificates in one request, the other still good.
    const [, both] = await ocsp([
      '-issuer',
      caFile,
      '-cert',
      certFile,
      '-cert',
      otherFile,
      '-CAfile',
      caFile,
      '-url',
      url,
    ]);
    expect(both).toContain(`${certFile}: revoked`);
    expect(both).toContain(`${otherFile}: good`);
  });

  it('GET (RFC 6960 A.1): the URL-encoded base64 request; unknown for a serial this CA never issued', async () => {
    const reqFile = join(work, `${store}-req.der`);
    // -no_nonce: a GET answer may be cached, so it carries no nonce.
    await ocsp(['-issuer', caFile, '-cert', otherFile, '-no_nonce', '-reqout', reqFile]);
    const b64 = readFileSync(reqFile).toString('base64');
    const res = await fetch(`${url}/${encodeURIComponent(b64)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    const respFile = join(work, `${store}-resp.der`);
    writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
    const [code, out] = await ocsp([
      '-issuer',
      caFile,
      '-cert',
      otherFile,
      '-CAfile',
      caFile,
      '-respin',
      respFile,
    ]);
    expect(out).toContain('Response verify OK');
    expect(out).toContain(`${otherFile}: good`);
    expect(code).toBe(0);
    // A serial never issued here: "unknown", still signed.
    const [, unknown] = await ocsp([
      '-issuer',
      caFile,
      '-serial',
      '0x7fffffffffffffff',
      '-CAfile',
      caFile,
      '-url',
      url,
    ]);
    expect(unknown).toContain('Response verify OK');
    expect(unknown).toContain(': unknown');
  });

  it('answers garbage with an OCSP malformedRequest, never a 5xx', async () => {
    for (const payload of [Buffer.from('not der'), Buffer.alloc(0), Buffer.from([0x30, 0x82, 0xff, 0xff])]) {
      const r = await s.tessera.app.inject({
        method: 'POST',
        url: '/pki/ocsp',
        headers: { 'content-type': 'application/ocsp-request' },
        payload,
      });
      expect(r.statusCode).toBe(200);
      expect(r.rawPayload.toString('hex')).toBe('30030a0101');
    }
    expect((await s.tessera.app.inject({ method: 'GET', url: '/pki/ocsp/%%%' })).statusCode).toBeLessThan(
      500,
    );
    const bad = await s.tessera.app.inject({ method: 'GET', url: '/pki/ocsp/!!notbase64' });
    expect(bad.rawPayload.toString('hex')).toBe('30030a0101');
    // The hostile path segments of the generic bad-input suite, which leaves this route to this file.
    for (const path of [
      'NOT-AN-ID',
      '%00',
      encodeURIComponent("'; drop table identities; --"),
      '%3Cscript%3E',
      'p-%2e%2e%2fetc',
      encodeURIComponent('🙂'),
      'x'.repeat(5000),
      'a/b/c',
    ]) {
      const r = await s.tessera.app.inject({ method: 'GET', url: `/pki/ocsp/${path}` });
      expect(r.statusCode, path).toBeLessThan(500);
      if (r.statusCode === 200) expect(r.rawPayload.toString('hex'), path).toBe('30030a0101');
    }
    const big = await s.tessera.app.inject({
      method: 'POST',
      url: '/pki/ocsp',
      headers: { 'content-type': 'application/ocsp-request' },
      payload: Buffer.alloc(20_000, 1),
    });
    expect(big.statusCode).toBe(413);
    const json = await s.tessera.app.inject({ method: 'POST', url: '/pki/ocsp', payload: { a: 1 } });
    expect(json.statusCode).toBe(415);
  });
});

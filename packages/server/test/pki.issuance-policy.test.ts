import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSession, STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

/**
 * Issue 13 (ADR 0035): a certificate never outlives the credential it was obtained through, and
 * Tessera makes the key pair only when asked, handing the private key out once.
 */
const work = mkdtempSync(join(tmpdir(), 'tessera-pki-policy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function opensslCsr(name: string) {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
  execFileSync(
    'openssl',
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      '/O=test',
    ]),
    { stdio: 'pipe' },
  );
  return execFileSync('cat', [csr]).toString();
}

function verifyAt(bundle: string, cert: string, atMs: number): number {
  const b = join(work, `bundle-${Math.random().toString(36).slice(2)}.pem`);
  const c = join(work, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(b, bundle);
  writeFileSync(c, cert);
  const r = spawnSync('openssl', ['verify', '-attime', String(Math.floor(atMs / 1000)), '-CAfile', b, c]);
  return r.status ?? -1;
}

/** The public key (SPKI PEM) of a certificate or of a private key, as openssl reads it. */
const publicKeyOfCert = (pem: string) =>
  execFileSync('openssl', ['x509', '-noout', '-pubkey'], { input: pem }).toString();
const publicKeyOfKey = (pem: string) =>
  execFileSync('openssl', ['pkey', '-pubout'], { input: pem }).toString();

describe.each(STORES)('certificate lifetime and generated keys on %s', (store) => {
  let s: TestServer;
  let adminToken = '';
  const admin = (method: string, url: string, body?: unknown) =>
    s.call(method, url, { token: adminToken, ...(body === undefined ? {} : { body }) });
  let roleCount = 0;

  /** A role allowing issuance under `long`, associated with the method. */
  async function allowIssue(authMethodId: string) {
    const role = `pki-long-${++roleCount}`;
    expect((await admin('POST', '/v1/roles', { name: role })).status).toBe(201);
    expect(
      (
        await admin('POST', `/v1/roles/${role}/rules`, {
          ruleType: 'pki',
          path: '/long',
          capabilities: ['create'],
        })
      ).status,
    ).toBe(200);
    expect((await admin('POST', `/v1/roles/${role}/associations`, { authMethodId })).status).toBe(201);
  }

  /** An access-key workload, optionally with an expiring method; returns its session token. */
  async function accessKeyWorkload(expiresAtMs: number | null) {
    const name = `svc-${Math.random().toString(36).slice(2, 8)}`;
    const identity = await admin('POST', '/v1/identities', { name, kind: 'service', owner: 'team-a' });
    expect(identity.status).toBe(201);
    const method = await admin('POST', '/v1/auth-methods', {
      type: 'access_key',
      name: `/pki-policy/${name}`,
      identityId: identity.body.id,
      ...(expiresAtMs !== null ? { expiresAt: new Date(expiresAtMs).toISOString() } : {}),
    });
    expect(method.status).toBe(201);
    await allowIssue(method.body.authMethod.id);
    const auth = await s.call('POST', '/v1/auth', {
      body: {
        accessType: 'access_key',
        accessId: method.body.authMethod.id,
        accessKey: method.body.accessKey,
      },
    });
    expect(auth.status).toBe(200);
    return { token: auth.body.token as string, name };
  }

  beforeAll(async () => {
    s = await startTestServer(store);
    adminToken = s.adminToken;
    expect((await admin('POST', '/v1/pki/ca', { trustDomain: 'example.org' })).status).toBe(201);
    const profile = await admin('PUT', '/v1/pki/profiles/long', {
      maxTtlSeconds: 4 * 3600,
      defaultTtlSeconds: 3600,
      spiffeIdPath: '/workload/{identity}',
      dnsNames: ['{identity}.svc.cluster.local'],
      keyTypes: ['ec-p256', 'ed25519', 'rsa-2048'],
    });
    expect(profile.status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a certificate ends with its TTL when the credential outlives it', async () => {
    const w = await accessKeyWorkload(null);
    const r = await s.call('POST', '/v1/pki/issue/long', {
      token: w.token,
      body: { csr: opensslCsr('ttl') },
    });
    expect(r.status).toBe(200);
    expect(r.body.notAfterCappedBy).toBe('ttl');
    expect(Date.parse(r.body.certificate.notAfter) - s.clock.ms).toBe(3600_000);
  });

  it('never outlives the auth method it came through, and says so in the audit event', async () => {
    const expiresAtMs = s.clock.ms + 30 * 60_000 + 500; // sub-second: the certificate ends on the second before
    const w = await accessKeyWorkload(expiresAtMs);
    const r = await s.call('POST', '/v1/pki/issue/long', {
      token: w.token,
      body: { csr: opensslCsr('method'), ttlSeconds: 2 * 3600 },
    });
    expect(r.status).toBe(200);
    expect(r.body.notAfterCappedBy).toBe('auth_method_expiry');
    const notAfter = Date.parse(r.body.certificate.notAfter);
    expect(notAfter).toBe(expiresAtMs - 500);
    // openssl agrees: valid just before the method's expiry, not after it
    expect(verifyAt(r.body.caBundlePem, r.body.certificatePem, expiresAtMs - 2000)).toBe(0);
    expect(verifyAt(r.body.caBundlePem, r.body.certificatePem, expiresAtMs + 1000)).not.toBe(0);
    const events = (await admin('GET', '/v1/audit/events?type=pki.certificate_issued&limit=1')).body.items;
    expect(events[0].data.serial).toBe(r.body.certificate.serial);
    expect(events[0].data.notAfterCappedBy).toBe('auth_method_expiry');
    expect(events[0].data.notAfter).toBe(r.body.certificate.notAfter);
    expect(events[0].data.keyGeneratedByServer).toBe(false);

    // With less than the shortest TTL left, nothing is issued: renew the credential first.
    s.clock.advance(30 * 60 - 5);
    const late = await s.call('POST', '/v1/pki/issue/long', {
      token: w.token,
      body: { csr: opensslCsr('late') },
    });
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('TESSERA_CSR_REFUSED');
    expect(late.body.error.details.reason).toBe('credential_expires_too_soon');
    s.clock.advance(5);
    adminToken = await adminSession(s);
  });

  it('never outlives the UID token it came through (the holder rotates, then renews)', async () => {
    const uid = await uidSetup(s, { ttlSeconds: 600, jwtTtlSeconds: 3600 });
    await allowIssue(uid.method.id);
    const session = await uidAuth(s, uid.root.token);
    expect(session.status).toBe(200);
    const r = await s.call('POST', '/v1/pki/issue/long', {
      token: session.body.token,
      body: { csr: opensslCsr('uid') },
    });
    expect(r.status).toBe(200);
    expect(r.body.notAfterCappedBy).toBe('uid_token_expiry');
    expect(r.body.certificate.notAfter).toBe(new Date(Date.parse(uid.root.expiresAt)).toISOString());
    expect(Date.parse(r.body.certificate.notAfter) - s.clock.ms).toBe(600_000);
    // Five minutes later the holder rotates (a fresh TTL), signs in again and renews: the new
    // certificate runs to the new expiry; the old one still ends with the old.
    s.clock.advance(300);
    const rotated = await s.call('POST', '/v1/uid/rotate', { token: uid.root.token, body: {} });
    expect(rotated.status).toBe(200);
    s.track(rotated.body.token);
    const again = await uidAuth(s, rotated.body.token);
    expect(again.status).toBe(200);
    const renewed = await s.call('POST', '/v1/pki/issue/long', {
      token: again.body.token,
      body: { csr: opensslCsr('uid-renewed') },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.notAfterCappedBy).toBe('uid_token_expiry');
    expect(Date.parse(renewed.body.certificate.notAfter) - s.clock.ms).toBe(600_000);
    expect(Date.parse(renewed.body.certificate.notAfter)).toBe(Date.parse(rotated.body.expiresAt));
  });

  it('an administrator issuing for another identity is bounded by its own credential too', async () => {
    const target = await accessKeyWorkload(null);
    // The administrator's method expires in 20 minutes: so does what it issues, for anyone.
    const adminMethod = (await admin('GET', `/v1/auth-methods/${s.adminAccessId}`)).body;
    expect(adminMethod.id ?? adminMethod.authMethod?.id).toBe(s.adminAccessId);
    const expiresAtMs = s.clock.ms + 20 * 60_000;
    expect(
      (
        await admin('PATCH', `/v1/auth-methods/${s.adminAccessId}`, {
          expiresAt: new Date(expiresAtMs).toISOString(),
        })
      ).status,
    ).toBe(200);
    const r = await s.call('POST', '/v1/pki/issue/long', {
      token: adminToken,
      body: { generateKey: true, identity: target.name },
    });
    expect(r.status).toBe(200);
    s.track(r.body.privateKeyPem);
    expect(r.body.certificate.spiffeId).toBe(`spiffe://example.org/workload/${target.name}`);
    expect(r.body.notAfterCappedBy).toBe('auth_method_expiry');
    expect(Date.parse(r.body.certificate.notAfter)).toBe(expiresAtMs);
    expect((await admin('PATCH', `/v1/auth-methods/${s.adminAccessId}`, { expiresAt: null })).status).toBe(
      200,
    );
  });

  it('makes the key only when asked, returns it once, and never stores or audits it', async () => {
    const w = await accessKeyWorkload(null);
    const res = await s.tessera.app.inject({
      method: 'POST',
      url: '/v1/pki/issue/long',
      headers: { authorization: `Bearer ${w.token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ generateKey: true, dnsNames: [`${w.name}.svc.cluster.local`] }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(res.body);
    const key = body.privateKeyPem as string;
    s.track(key.replace(/-----[A-Z ]+-----|\s/g, '').slice(0, 64));
    expect(key).toContain('BEGIN PRIVATE KEY');
    // the key is the certificate's, and the certificate verifies against the bundle
    expect(publicKeyOfKey(key)).toBe(publicKeyOfCert(body.certificatePem));
    expect(verifyAt(body.caBundlePem, body.certificatePem, s.clock.ms)).toBe(0);
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
      input: body.certificatePem,
    }).toString();
    expect(text).toContain(`DNS:${w.name}.svc.cluster.local`);
    expect(text).toContain(`URI:spiffe://example.org/workload/${w.name}`);
    expect(text).toContain(`Subject: CN = ${w.name}`);
    expect(text).toContain('prime256v1'); // the profile's first key type by default

    // another key type the profile allows
    const ed = await s.call('POST', '/v1/pki/issue/long', {
      token: w.token,
      body: { generateKey: true, keyType: 'ed25519', ttlSeconds: 600 },
    });
    expect(ed.status).toBe(200);
    s.track(ed.body.privateKeyPem.replace(/-----[A-Z ]+-----|\s/g, ''));
    expect(publicKeyOfKey(ed.body.privateKeyPem)).toBe(publicKeyOfCert(ed.body.certificatePem));
    expect(verifyAt(ed.body.caBundlePem, ed.body.certificatePem, s.clock.ms)).toBe(0);

    // A CSR request never gets a private key back.
    const fromCsr = await s.call('POST', '/v1/pki/issue/long', {
      token: w.token,
      body: { csr: opensslCsr('k') },
    });
    expect(fromCsr.status).toBe(200);
    expect(fromCsr.body.privateKeyPem).toBeUndefined();

    // Nowhere in the store: not in the certificates, not in the audit ledger.
    const bare = key.replace(/-----[A-Z ]+-----|\s/g, '').slice(0, 48);
    const certs = JSON.stringify(
      await s.tessera.store.db.selectFrom('pki_certificates').selectAll().execute(),
    );
    const audit = JSON.stringify(await s.tessera.store.db.selectFrom('audit_events').selectAll().execute());
    expect(certs).not.toContain(bare);
    expect(audit).not.toContain(bare);
    expect(audit).not.toContain('PRIVATE KEY');
    const events = (await admin('GET', '/v1/audit/events?type=pki.certificate_issued&limit=3')).body.items;
    const generated = events.find(
      (e: { data: { serial: string } }) => e.data.serial === body.certificate.serial,
    );
    expect(generated.data.keyGeneratedByServer).toBe(true);
    expect(generated.data.keyType).toBe('ec-p256');
  });

  it('refuses ambiguous or disallowed generated-key requests with stable codes', async () => {
    const w = await accessKeyWorkload(null);
    const call = (body: unknown) => s.call('POST', '/v1/pki/issue/long', { token: w.token, body });
    const both = await call({ csr: opensslCsr('both'), generateKey: true });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    const neither = await call({});
    expect(neither.status).toBe(400);
    expect(neither.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    const falseFlag = await call({ generateKey: false });
    expect(falseFlag.status).toBe(400);
    expect(falseFlag.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    const keyTypeWithCsr = await call({ csr: opensslCsr('kt'), keyType: 'ec-p256' });
    expect(keyTypeWithCsr.status).toBe(400);
    expect(keyTypeWithCsr.body.error.code).toBe('TESSERA_VALIDATION_FAILED');
    const rsa4096 = await call({ generateKey: true, keyType: 'rsa-4096' });
    expect(rsa4096.status).toBe(400);
    expect(rsa4096.body.error.code).toBe('TESSERA_CSR_REFUSED');
    expect(rsa4096.body.error.details.reason).toBe('key_type_not_allowed');
    const badName = await call({ generateKey: true, dnsNames: ['bank.example.com'] });
    expect(badName.status).toBe(400);
    expect(badName.body.error.code).toBe('TESSERA_CSR_REFUSED');
    expect(badName.body.error.details.reason).toBe('dns_name_not_allowed');
    const unknownType = await call({ generateKey: true, keyType: 'dsa-1024' });
    expect(unknownType.status).toBe(400);
    // The shortest TTL (10 s) at a time between two seconds is issued: it runs from the whole second.
    s.clock.ms += 500;
    const shortest = await call({ csr: opensslCsr('shortest'), ttlSeconds: 10 });
    expect(shortest.status).toBe(200);
    expect(shortest.body.notAfterCappedBy).toBe('ttl');
    s.clock.ms += 500;
  });
});

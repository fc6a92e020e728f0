import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionTokenVerifier } from '@tessera/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { createTessera, type Tessera } from '../src/server.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-mtls-'));

/** A self-signed server certificate for 127.0.0.1 (openssl). */
function serverCertificate() {
  const key = join(work, 'server.key');
  const cert = join(work, 'server.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { key, cert };
}

function csrFor(name: string, cn: string) {
  const key = join(work, `${name}.key`);
  const csr = join(work, `${name}.csr`);
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
      csr,
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'pipe' },
  );
  return { key: readFileSync(key, 'utf8'), csr: readFileSync(csr, 'utf8') };
}

/** A request over the TLS listener, with or without a client certificate (Node `tls`). */
export function tlsCall(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; cert?: string; key?: string; ca: string },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => {
          data += c;
        });
        res.on('end', () => {
          let body: unknown = data;
          try {
            body = JSON.parse(data);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('mTLS: the certificate auth method on the TLS listener', () => {
  let tessera: Tessera;
  let base = '';
  let serverCa = '';
  let adminToken = '';
  let methodId = '';
  let identityId = '';
  const identityName = `mtls-${Math.random().toString(36).slice(2, 8)}`;
  const admin = async (method: string, url: string, body?: unknown) => {
    const r = await tessera.app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : null };
  };
  const issue = async () => {
    const { key, csr } = csrFor(`c${Math.random().toString(36).slice(2, 6)}`, identityName);
    const r = await admin('POST', '/v1/pki/issue/mtls', { csr, identity: identityName });
    expect(r.status).toBe(200);
    return { key, cert: r.body.certificatePem as string, serial: r.body.certificate.serial as string };
  };
  const certAuth = (client?: { key: string; cert: string }) =>
    tlsCall(`${base}/v1/auth`, {
      method: 'POST',
      body: { accessType: 'certificate', accessId: methodId },
      ca: serverCa,
      ...(client ?? {}),
    });

  beforeAll(async () => {
    const server = serverCertificate();
    serverCa = readFileSync(server.cert, 'utf8');
    const dataDir = join(work, 'data');
    const config = loadConfig(
      { dataDir, port: 0, logLevel: 'silent', tlsCert: server.cert, tlsKey: server.key },
      { TESSERA_AUTH_FAILURE_LIMIT: '1000' },
    );
    expect(config.issuer.startsWith('https://')).toBe(true);
    tessera = await createTessera(config, { logger: false });
    const created = await tessera.ensureAdmin();
    const auth = await tessera.app.inject({
      method: 'POST',
      url: '/v1/auth',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        accessType: 'access_key',
        accessId: created.accessId,
        accessKey: created.accessKey,
      }),
    });
    adminToken = JSON.parse(auth.body).token;
    const address = await tessera.app.listen({ host: '127.0.0.1', port: 0 });
    base = address.replace('http://', 'https://');
    expect((await admin('POST', '/v1/pki/ca', { trustDomain: 'mtls.test' })).status).toBe(201);
    expect(
      (await admin('PUT', '/v1/pki/profiles/mtls', { maxTtlSeconds: 600, extKeyUsages: ['clientAuth'] }))
        .status,
    ).toBe(200);
    const identity = await admin('POST', '/v1/identities', {
      name: identityName,
      kind: 'workload',
      owner: 'team-m',
    });
    identityId = identity.body.id;
    const method = await admin('POST', '/v1/auth-methods', {
      type: 'certificate',
      name: '/mtls/internal',
      identityId,
    });
    expect(method.status).toBe(201);
    expect(method.body.authMethod.certificate).toMatchObject({ internalCa: true, boundNames: [] });
    methodId = method.body.authMethod.id;
  });
  /** `POST /oauth/token` over TLS (form body), with a client certificate. */
  const tokenRequest = (clientId: string, client?: { key: string; cert: string }) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        `${base}/oauth/token`,
        {
          method: 'POST',
          ca: serverCa,
          agent: false,
          ...(client ?? {}),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => {
            data += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
        },
      );
      req.on('error', reject);
      req.end(new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId }).toString());
    });
  const payloadOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
  const thumbprintOf = (pem: string) =>
    Buffer.from(new X509Certificate(pem).fingerprint256.replace(/:/g, ''), 'hex').toString('base64url');

  it('RFC 8705: tls_client_auth issues certificate-bound tokens, refused by the API and the SDK without that certificate', async () => {
    const meta = await tlsCall(`${base}/.well-known/oauth-authorization-server`, { ca: serverCa });
    expect(meta.body.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(meta.body.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']),
    );
    expect(meta.body.mtls_endpoint_aliases.token_endpoint).toBe(meta.body.token_endpoint);
    const name = `oauth-svc-${Math.random().toString(36).slice(2, 6)}`;
    const identity = await admin('POST', '/v1/identities', { name, kind: 'service', owner: 'team-o' });
    const spiffe = `spiffe://mtls.test/identity/${name}`;
    const created = await admin('POST', '/v1/oauth-clients', {
      name: `/oauth/${name}`,
      identityId: identity.body.id,
      tokenEndpointAuthMethod: 'tls_client_auth',
      tlsClientAuthSanUri: spiffe,
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toBeUndefined();
    const clientId = created.body.client.clientId as string;
    await admin('POST', '/v1/roles', { name: `r-${name}` });
    await admin('POST', `/v1/roles/r-${name}/rules`, {
      ruleType: 'identity',
      path: `/${name}`,
      capabilities: ['read'],
    });
    await admin('POST', `/v1/roles/r-${name}/associations`, { authMethodId: clientId });
    const { key, csr } = csrFor(`o-${name}`, name);
    const cert = (await admin('POST', '/v1/pki/issue/mtls', { csr, identity: name })).body
      .certificatePem as string;
    const other = await issue(); // a valid certificate of another identity

    const issued = await tokenRequest(clientId, { key, cert });
    expect(issued.status).toBe(200);
    expect(issued.body.token_type).toBe('Bearer');
    const token = issued.body.access_token as string;
    expect(payloadOf(token).cnf).toEqual({ 'x5t#S256': thumbprintOf(cert) });
    // another identity's certificate, or none: invalid_client
    expect((await tokenRequest(clientId, other)).body.error).toBe('invalid_client');
    expect((await tokenRequest(clientId)).body.error).toBe('invalid_client');
    expect(
      (await admin('GET', '/v1/audit/events?type=oauth.client_auth_failed&limit=2')).body.items.map(
        (e: { reason: string }) => e.reason,
      ),
    ).toEqual(['unknown_client', 'certificate_name_not_bound']);

    // Tessera's API: with the certificate it was bound to, without it, with another one
    const url = `${base}/v1/identities/${identity.body.id}`;
    expect((await tlsCall(url, { ca: serverCa, token, key, cert })).status).toBe(200);
    expect((await tlsCall(url, { ca: serverCa, token })).status).toBe(401);
    expect((await tlsCall(url, { ca: serverCa, token, ...other })).status).toBe(401);

    // The SDK verifier (a resource server verifying locally)
    const jwks = (await tlsCall(`${base}/.well-known/jwks.json`, { ca: serverCa })).body;
    const verifier = new SessionTokenVerifier({ jwks, audience: 'tessera' });
    const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
    await expect(verifier.verify(token, { method: 'GET', url })).rejects.toMatchObject({
      code: 'TESSERA_TOKEN_INVALID',
    });
    await expect(
      verifier.verify(token, { method: 'GET', url, clientCertificate: der(other.cert) }),
    ).rejects.toMatchObject({ code: 'TESSERA_TOKEN_INVALID' });
    expect((await verifier.verify(token, { method: 'GET', url, clientCertificate: der(cert) })).sub).toBe(
      identity.body.id,
    );
  });

  it('RFC 8705: self_signed_tls_client_auth with the certificate registered as x5c', async () => {
    const self = join(work, 'selfsigned');
    const mk = (file: string) =>
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          `${file}.key`,
          '-out',
          `${file}.pem`,
          '-subj',
          '/CN=self-signed-client',
        ],
        { stdio: 'pipe' },
      );
    mk(self);
    mk(`${self}-2`);
    const cert = readFileSync(`${self}.pem`, 'utf8');
    const jwk = {
      ...(createPublicKey(cert).export({ format: 'jwk' }) as Record<string, unknown>),
      x5c: [Buffer.from(new X509Certificate(cert).raw).toString('base64')],
    };
    const identity = await admin('POST', '/v1/identities', {
      name: 'self-signed-client',
      kind: 'service',
      owner: 'x',
    });
    const created = await admin('POST', '/v1/oauth-clients', {
      name: '/oauth/self-signed',
      identityId: identity.body.id,
      tokenEndpointAuthMethod: 'self_signed_tls_client_auth',
      jwks: { keys: [jwk] },
    });
    expect(created.status).toBe(201);
    const clientId = created.body.client.clientId;
    const ok = await tokenRequest(clientId, { key: readFileSync(`${self}.key`, 'utf8'), cert });
    expect(ok.status).toBe(200);
    expect(payloadOf(ok.body.access_token).cnf['x5t#S256']).toBe(thumbprintOf(cert));
    const wrong = await tokenRequest(clientId, {
      key: readFileSync(`${self}-2.key`, 'utf8'),
      cert: readFileSync(`${self}-2.pem`, 'utf8'),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
  });

  afterAll(async () => {
    await tessera?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves HTTPS; a certificate from the internal CA authenticates as its identity over mTLS', async () => {
    const health = await tlsCall(`${base}/v1/pki/ca`, { ca: serverCa });
    expect(health.status).toBe(200);
    const client = await issue();
    const r = await certAuth(client);
    expect(r.status).toBe(200);
    expect(r.body.identityId).toBe(identityId);
    expect(r.body.authMethodId).toBe(methodId);
    // without a client certificate, or with a self-made one: the uniform 401
    expect((await certAuth()).status).toBe(401);
    const self = join(work, 'self.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        self,
        '-out',
        `${self}.pem`,
        '-subj',
        `/CN=${identityName}`,
      ],
      { stdio: 'pipe' },
    );
    const forged = await certAuth({
      key: readFileSync(self, 'utf8'),
      cert: readFileSync(`${self}.pem`, 'utf8'),
    });
    expect(forged.status).toBe(401);
    const events = await admin('GET', '/v1/audit/events?type=auth.failed&limit=2');
    expect(events.body.items.map((e: { reason: string }) => e.reason).sort()).toEqual([
      'certificate_missing',
      'certificate_untrusted',
    ]);
  });

  it('refuses a revoked certificate at once, and every certificate of a retired identity', async () => {
    const revoked = await issue();
    const firstUse = await certAuth(revoked);
    expect(
      firstUse.status,
      JSON.stringify((await admin('GET', '/v1/audit/events?type=auth.failed&limit=1')).body.items[0]),
    ).toBe(200);
    expect((await admin('POST', `/v1/pki/certificates/${revoked.serial}/revoke`)).status).toBe(200);
    expect((await certAuth(revoked)).status).toBe(401);
    expect((await admin('GET', '/v1/audit/events?type=auth.failed&limit=1')).body.items[0].reason).toBe(
      'certificate_revoked',
    );
    const live = await issue();
    expect((await certAuth(live)).status).toBe(200);
    expect((await admin('POST', `/v1/identities/${identityId}/retire`)).status).toBe(200);
    expect((await certAuth(live)).status).toBe(401);
    // retirement revoked it too: relying parties outside Tessera see it in the CRL
    const crl = await tlsCall(`${base}/pki/crl?format=pem`, { ca: serverCa });
    const text = execFileSync('openssl', ['crl', '-noout', '-text'], { input: crl.body }).toString();
    expect(text.toLowerCase().replace(/:/g, '')).toContain(live.serial);
  });
});

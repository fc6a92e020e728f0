import { execFileSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { createTessera, type Tessera } from '../src/server.js';
import { freePort } from './oauth.helpers.js';

const work = mkdtempSync(join(tmpdir(), 'tessera-oauth-mtls-'));

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed certificate and its key (PEM), made by openssl. */
function selfSigned(name: string, subject: string, extra: string[] = []) {
  const file = join(work, name);
  openssl([
    'req',
    '-x509',
    ...P256,
    '-days',
    '1',
    '-keyout',
    `${file}.key`,
    '-out',
    `${file}.pem`,
    '-subj',
    subject,
    ...extra,
  ]);
  return { key: readFileSync(`${file}.key`, 'utf8'), cert: readFileSync(`${file}.pem`, 'utf8') };
}

/** A key and a certificate signing request for `CN=<cn>` (PEM). */
function csrFor(name: string, cn: string) {
  const file = join(work, name);
  openssl(['req', '-new', ...P256, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${cn}`]);
  return { key: readFileSync(`${file}.key`, 'utf8'), csr: readFileSync(`${file}.csr`, 'utf8') };
}

/** An external CA (not Tessera's), for the listener's `--tls-client-ca`, and a client certificate it signs. */
function externalCa() {
  const ca = join(work, 'external-ca');
  openssl([
    'req',
    '-x509',
    ...P256,
    '-days',
    '1',
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
    '-subj',
    '/CN=Acme External CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const client = join(work, 'external-client');
  openssl([
    'req',
    '-new',
    ...P256,
    '-keyout',
    `${client}.key`,
    '-out',
    `${client}.csr`,
    '-subj',
    '/O=acme/CN=billing',
  ]);
  writeFileSync(`${client}.ext`, 'extendedKeyUsage=clientAuth\n');
  openssl([
    'x509',
    '-req',
    '-in',
    `${client}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${client}.pem`,
    '-extfile',
    `${client}.ext`,
  ]);
  return {
    caFile: `${ca}.pem`,
    client: { key: readFileSync(`${client}.key`, 'utf8'), cert: readFileSync(`${client}.pem`, 'utf8') },
  };
}

interface TlsIdentity {
  key: string;
  cert: string;
}

/**
 * A Fetch API function over `node:https` that trusts `ca` and presents `client` (if any) as its TLS
 * client certificate. Node's global fetch cannot present one; this is the `customFetch` that
 * oauth4webapi and openid-client document for mTLS (they show undici's Agent to the same effect):
 * the libraries build every request and check every response themselves, this only carries them.
 */
function mtlsFetch(ca: string, client?: TlsIdentity) {
  return (url: string, init: { method?: string; headers?: HeadersInit; body?: unknown } = {}) =>
    new Promise<Response>((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers));
      const body = init.body === undefined || init.body === null ? undefined : String(init.body);
      const req = request(
        url,
        { method: init.method ?? 'GET', headers, ca, agent: false, ...(client ?? {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const answer = new Headers();
            for (const [name, value] of Object.entries(res.headers))
              for (const v of [value ?? []].flat()) answer.append(name, v);
            const status = res.statusCode ?? 0;
            const empty = status === 204 || status === 205 || status === 304;
            resolve(new Response(empty ? null : Buffer.concat(chunks), { status, headers: answer }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/**
 * The RFC 6749 §5.2 error code a library surfaced. A 401 `invalid_client` carries a
 * `WWW-Authenticate` challenge (Tessera's door sends one on every 401), which the libraries report
 * as a challenge error holding the response: its body is the §5.2 error.
 */
async function oauthErrorOf(error: unknown): Promise<string> {
  if (error instanceof oauth.ResponseBodyError) return error.error;
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    expect(error.status).toBe(401);
    return ((await error.response.json()) as { error: string }).error;
  }
  throw error;
}

const payloadOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
/** RFC 8705 §3.1: base64url SHA-256 of the certificate's DER. */
const thumbprintOf = (pem: string) =>
  Buffer.from(new X509Certificate(pem).fingerprint256.replace(/:/g, ''), 'hex').toString('base64url');

/**
 * RFC 8705 with clients we did not write (issue 12): oauth4webapi 3 and openid-client 6 discover the
 * `mtls_endpoint_aliases`, authenticate with `tls_client_auth` (a certificate from Tessera's internal
 * CA, or from an external CA the listener trusts with `--tls-client-ca`) and
 * `self_signed_tls_client_auth`, and get certificate-bound tokens (`cnf.x5t#S256`) that
 * Tessera's API refuses without the certificate they are bound to.
 */
describe('RFC 8705 mTLS with oauth4webapi and openid-client on the TLS listener', () => {
  let tessera: Tessera;
  let issuer = '';
  let serverCa = '';
  let adminToken = '';
  let external: ReturnType<typeof externalCa>;
  const trustDomain = 'oauth-mtls.test';
  const suffix = Math.random().toString(36).slice(2, 8);

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
  const ok = <T extends { status: number; body: any }>(r: T, what: string): T => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };

  /** An identity, and a role letting its OAuth client read it and hold scope `read`. */
  async function serviceIdentity(name: string) {
    const identity = ok(
      await admin('POST', '/v1/identities', { name, kind: 'service', owner: 'team-mtls' }),
      'identity',
    );
    return identity.body.id as string;
  }
  async function grant(clientId: string, identityName: string) {
    const role = `r-${clientId}`;
    ok(await admin('POST', '/v1/roles', { name: role }), 'role');
    ok(
      await admin('POST', `/v1/roles/${role}/rules`, {
        ruleType: 'identity',
        path: identityName.startsWith('/') ? identityName : `/${identityName}`,
        capabilities: ['read'],
      }),
      'identity rule',
    );
    ok(
      await admin('POST', `/v1/roles/${role}/rules`, {
        ruleType: 'scope',
        path: '/read',
        capabilities: ['read'],
      }),
      'scope rule',
    );
    ok(await admin('POST', `/v1/roles/${role}/associations`, { authMethodId: clientId }), 'association');
  }
  /** A client certificate for `identity` from Tessera's internal CA (the pki capability). */
  async function internalCertificate(identity: string): Promise<TlsIdentity> {
    const { key, csr } = csrFor(`${identity}-${Math.random().toString(36).slice(2, 6)}`, identity);
    const r = ok(await admin('POST', '/v1/pki/issue/oauth-mtls', { csr, identity }), 'issue');
    return { key, cert: r.body.certificatePem as string };
  }

  beforeAll(async () => {
    const server = selfSigned('server', '/CN=127.0.0.1', ['-addext', 'subjectAltName=IP:127.0.0.1']);
    serverCa = server.cert;
    external = externalCa();
    const port = await freePort();
    issuer = `https://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        dataDir: join(work, 'data'),
        port,
        logLevel: 'silent',
        tlsCert: join(work, 'server.pem'),
        tlsKey: join(work, 'server.key'),
        tlsClientCa: external.caFile,
      },
      { TESSERA_ISSUER: issuer, TESSERA_AUTH_FAILURE_LIMIT: '1000' },
    );
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
    await tessera.app.listen({ host: '127.0.0.1', port });
    ok(await admin('POST', '/v1/pki/ca', { trustDomain }), 'CA');
    ok(
      await admin('PUT', '/v1/pki/profiles/oauth-mtls', { maxTtlSeconds: 600, extKeyUsages: ['clientAuth'] }),
      'profile',
    );
  });
  afterAll(async () => {
    await tessera?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('oauth4webapi: tls_client_auth with an internal-CA certificate through the mtls_endpoint_aliases; the bound token needs that certificate', async () => {
    const name = `o4w-${suffix}`;
    const identityId = await serviceIdentity(name);
    const created = ok(
      await admin('POST', '/v1/oauth-clients', {
        name: `/oauth/${name}`,
        identityId,
        tokenEndpointAuthMethod: 'tls_client_auth',
        tlsClientAuthSanUri: `spiffe://${trustDomain}/identity/${name}`,
        scopes: ['read'],
      }),
      'client',
    );
    const clientId = created.body.client.clientId as string;
    await grant(clientId, name);
    const mine = await internalCertificate(name);
    await serviceIdentity(`other-${suffix}`);
    const someoneElse = await internalCertificate(`other-${suffix}`); // valid, same CA, another name

    // Discovery needs no client certificate.
    const plain = { [oauth.customFetch]: mtlsFetch(serverCa) };
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...plain }),
    );
    expect(as.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(as.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth']),
    );
    expect(as.mtls_endpoint_aliases).toMatchObject({
      token_endpoint: `${issuer}/oauth/token`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
    });

    const client: oauth.Client = { client_id: clientId, use_mtls_endpoint_aliases: true };
    const withCert = { [oauth.customFetch]: mtlsFetch(serverCa, mine) };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.TlsClientAuth(),
      { scope: 'read' },
      withCert,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = await oauth.processClientCredentialsResponse(as, client, response);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read');
    expect(payloadOf(tokens.access_token)).toMatchObject({
      client_id: clientId,
      sub: identityId,
      scope: 'read',
      cnf: { 'x5t#S256': thumbprintOf(mine.cert) },
    });

    // Without a certificate, or with another identity's (valid, same CA): invalid_client.
    for (const fetchAs of [plain, { [oauth.customFetch]: mtlsFetch(serverCa, someoneElse) }]) {
      const refused = await oauth
        .clientCredentialsGrantRequest(as, client, oauth.TlsClientAuth(), {}, fetchAs)
        .then((r) => oauth.processClientCredentialsResponse(as, client, r))
        .then(() => 'issued', oauthErrorOf);
      expect(refused).toBe('invalid_client');
    }

    // Tessera's API: the token works only on a connection presenting the certificate it is bound to.
    const url = new URL(`${issuer}/v1/identities/${identityId}`);
    const call = (fetchAs: object) =>
      oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, fetchAs).then(
        (r) => r.status,
        (e: unknown) => (e as oauth.WWWAuthenticateChallengeError).response?.status ?? e,
      );
    expect(await call(withCert)).toBe(200);
    expect(await call(plain)).toBe(401);
    expect(await call({ [oauth.customFetch]: mtlsFetch(serverCa, someoneElse) })).toBe(401);

    // Introspection and revocation at the aliases, authenticated by the same certificate.
    const introspected = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, oauth.TlsClientAuth(), tokens.access_token, withCert),
    );
    expect(introspected).toMatchObject({
      active: true,
      client_id: clientId,
      cnf: { 'x5t#S256': thumbprintOf(mine.cert) },
    });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, oauth.TlsClientAuth(), tokens.access_token, withCert),
    );
    expect(await call(withCert)).toBe(401);
  });

  it('openid-client: tls_client_auth with an internal-CA certificate; the bound token needs that certificate', async () => {
    const name = `oc-${suffix}`;
    const identityId = await serviceIdentity(name);
    const created = ok(
      await admin('POST', '/v1/oauth-clients', {
        name: `/oauth/${name}`,
        identityId,
        tokenEndpointAuthMethod: 'tls_client_auth',
        tlsClientAuthSanUri: `spiffe://${trustDomain}/identity/${name}`,
        scopes: ['read'],
      }),
      'client',
    );
    const clientId = created.body.client.clientId as string;
    await grant(clientId, name);
    const mine = await internalCertificate(name);

    const config = await openid.discovery(
      new URL(issuer),
      clientId,
      { use_mtls_endpoint_aliases: true },
      openid.TlsClientAuth(),
      { algorithm: 'oauth2', [openid.customFetch]: mtlsFetch(serverCa, mine) },
    );
    expect(config.serverMetadata().mtls_endpoint_aliases?.token_endpoint).toBe(`${issuer}/oauth/token`);
    const tokens = await openid.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.token_type).toBe('bearer');
    expect(payloadOf(tokens.access_token).cnf).toEqual({ 'x5t#S256': thumbprintOf(mine.cert) });

    const url = new URL(`${issuer}/v1/identities/${identityId}`);
    const read = await openid.fetchProtectedResource(config, tokens.access_token, url, 'GET');
    expect(read.status).toBe(200);
    expect((await read.json()).id).toBe(identityId);
    // The same token from a connection without the certificate (a thief's copy).
    const stolen = await mtlsFetch(serverCa)(url.href, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(stolen.status).toBe(401);

    expect(await openid.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true });
    await openid.tokenRevocation(config, tokens.access_token);
    expect((await openid.tokenIntrospection(config, tokens.access_token)).active).toBe(false);

    // A client whose certificate Tessera does not accept gets invalid_client from the library.
    config[openid.customFetch] = mtlsFetch(serverCa, selfSigned(`forged-${suffix}`, `/CN=${name}`));
    expect(await openid.clientCredentialsGrant(config).then(() => 'issued', oauthErrorOf)).toBe(
      'invalid_client',
    );
  });

  it('openid-client registers a self_signed_tls_client_auth client (RFC 7591, x5c) and gets a bound token; oauth4webapi too', async () => {
    const name = `self-${suffix}`;
    const self = selfSigned(name, `/CN=${name}`);
    const jwk = {
      ...(createPublicKey(self.cert).export({ format: 'jwk' }) as Record<string, unknown>),
      x5c: [Buffer.from(new X509Certificate(self.cert).raw).toString('base64')],
    };
    const withCert = mtlsFetch(serverCa, self);
    const config = await openid.dynamicClientRegistration(
      new URL(issuer),
      {
        client_name: `/oauth/${name}`,
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [jwk] } as never,
        grant_types: ['client_credentials'],
        use_mtls_endpoint_aliases: true,
      },
      openid.TlsClientAuth(),
      { algorithm: 'oauth2', initialAccessToken: adminToken, [openid.customFetch]: withCert },
    );
    const registered = config.clientMetadata();
    expect(registered.token_endpoint_auth_method).toBe('self_signed_tls_client_auth');
    const clientId = registered.client_id;
    // Registration gave the client an identity of its own; let it read that identity.
    const identityId = ok(await admin('GET', `/v1/auth-methods/${clientId}`), 'auth method').body
      .identityId as string;
    const identityName = ok(await admin('GET', `/v1/identities/${identityId}`), 'identity').body.name;
    await grant(clientId, identityName);

    const tokens = await openid.clientCredentialsGrant(config);
    expect(payloadOf(tokens.access_token)).toMatchObject({
      client_id: clientId,
      cnf: { 'x5t#S256': thumbprintOf(self.cert) },
    });
    // The token, bound to the self-signed certificate, authenticates on Tessera's API only with it.
    const me = new URL(`${issuer}/v1/identities/${identityId}`);
    const withIt = await openid.fetchProtectedResource(config, tokens.access_token, me, 'GET');
    expect(withIt.status).toBe(200);
    const without = await mtlsFetch(serverCa)(me.href, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(without.status).toBe(401);

    // oauth4webapi, same client: its certificate works, another self-signed one does not.
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), {
        algorithm: 'oauth2',
        [oauth.customFetch]: mtlsFetch(serverCa),
      }),
    );
    const client: oauth.Client = { client_id: clientId, use_mtls_endpoint_aliases: true };
    const again = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.TlsClientAuth(),
        {},
        {
          [oauth.customFetch]: withCert,
        },
      ),
    );
    expect(payloadOf(again.access_token).cnf).toEqual({ 'x5t#S256': thumbprintOf(self.cert) });
    const impostor = selfSigned(`impostor-${suffix}`, `/CN=${name}`);
    const refused = await oauth
      .clientCredentialsGrantRequest(
        as,
        client,
        oauth.TlsClientAuth(),
        {},
        {
          [oauth.customFetch]: mtlsFetch(serverCa, impostor),
        },
      )
      .then((r) => oauth.processClientCredentialsResponse(as, client, r))
      .then(() => 'issued', oauthErrorOf);
    expect(refused).toBe('invalid_client');
  });

  it('oauth4webapi: tls_client_auth with a certificate from an external CA the listener trusts (--tls-client-ca), by subject DN', async () => {
    const name = `ext-${suffix}`;
    const identityId = await serviceIdentity(name);
    const created = ok(
      await admin('POST', '/v1/oauth-clients', {
        name: `/oauth/${name}`,
        identityId,
        tokenEndpointAuthMethod: 'tls_client_auth',
        tlsClientAuthSubjectDn: 'CN=billing,O=acme',
      }),
      'client',
    );
    const clientId = created.body.client.clientId as string;
    await grant(clientId, name);
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), {
        algorithm: 'oauth2',
        [oauth.customFetch]: mtlsFetch(serverCa),
      }),
    );
    const client: oauth.Client = { client_id: clientId, use_mtls_endpoint_aliases: true };
    const withCert = { [oauth.customFetch]: mtlsFetch(serverCa, external.client) };
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.TlsClientAuth(), {}, withCert),
    );
    expect(payloadOf(tokens.access_token)).toMatchObject({
      sub: identityId,
      cnf: { 'x5t#S256': thumbprintOf(external.client.cert) },
    });
    // The same subject DN, self-signed (not from a trusted CA): invalid_client.
    const forged = selfSigned(`forged-ext-${suffix}`, '/O=acme/CN=billing');
    const refused = await oauth
      .clientCredentialsGrantRequest(
        as,
        client,
        oauth.TlsClientAuth(),
        {},
        {
          [oauth.customFetch]: mtlsFetch(serverCa, forged),
        },
      )
      .then((r) => oauth.processClientCredentialsResponse(as, client, r))
      .then(() => 'issued', oauthErrorOf);
    expect(refused).toBe('invalid_client');
    const url = new URL(`${issuer}/v1/identities/${identityId}`);
    const status = (fetchAs: object) =>
      oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, fetchAs).then(
        (r) => r.status,
        (e: unknown) => (e as oauth.WWWAuthenticateChallengeError).response?.status ?? e,
      );
    expect(await status(withCert)).toBe(200);
    expect(await status({ [oauth.customFetch]: mtlsFetch(serverCa, forged) })).toBe(401);
  });
});

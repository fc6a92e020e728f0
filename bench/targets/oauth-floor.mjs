// The floor of the OAuth token endpoint for issue 12's benchmark (`client_credentials`,
// `private_key_jwt`, a DPoP proof, EdDSA JWT access tokens, durable audit): the least a server
// keeping RFC 7523 §3, RFC 9449 §4.3 and DESIGN's invariants must do per token, and nothing else.
//   - Fastify; the form body parsed by node:querystring (a repeated parameter refused);
//   - the client assertion: base64url/JSON decoding, EdDSA signature verified with the client's key
//     (a KeyObject made once), iss = sub = client_id, aud, exp bounded, a jti;
//   - the DPoP proof: typ, alg, the header's JWK (KeyObject and RFC 7638 thumbprint cached by the
//     JWK's x), signature, htm, htu, iat window, the server nonce, a jti;
//   - scope and resource checked against the client's registration (in memory);
//   - both jtis consumed (`insert … on conflict do nothing` into a one-time-key table, refused when
//     already spent) and one HMAC-chained audit row, in a group commit fsynced before the answer
//     (bench/lib/floor-ledger.mjs);
//   - one Ed25519 signature of the access token (`cnf.jkt`), answered with `Cache-Control: no-store`.
// No rate limits, no policy engine, no logging, no metrics, no sinks, one client in memory.
// Usage: node bench/targets/oauth-floor.mjs --port 9107 --client-jwk '{"kty":"OKP",…}'
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseQuery } from 'node:querystring';
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { openFloorStore } from '../lib/floor-ledger.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9107);
const clientJwk = JSON.parse(String(args['client-jwk']));
const issuer = `http://127.0.0.1:${port}`;
const tokenEndpoint = `${issuer}/oauth/token`;
const RESOURCE = 'https://api.bench.example';
const client = {
  id: 'c-floor',
  kid: clientJwk.kid,
  key: createPublicKey({ key: clientJwk, format: 'jwk' }),
  scopes: new Set(['api:read']),
  resources: new Set([RESOURCE]),
};
const nonce = randomBytes(16).toString('base64url');
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const dir = mkdtempSync(join(tmpdir(), 'oauth-floor-'));
const store = openFloorStore(
  dir,
  'create table one_time_keys (key text primary key, expires_at integer not null) without rowid;',
);
const consume = store.db.prepare('insert into one_time_keys values (?, ?) on conflict do nothing');

/** The decoded parts of a compact JWS, or null. */
function decode(jws) {
  if (typeof jws !== 'string' || jws.length > 8192) return null;
  const a = jws.indexOf('.');
  const b = jws.indexOf('.', a + 1);
  if (a < 0 || b < 0 || jws.indexOf('.', b + 1) !== -1) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(jws.slice(0, a), 'base64url').toString()),
      payload: JSON.parse(Buffer.from(jws.slice(a + 1, b), 'base64url').toString()),
      input: Buffer.from(jws.slice(0, b)),
      signature: Buffer.from(jws.slice(b + 1), 'base64url'),
    };
  } catch {
    return null;
  }
}

const dpopKeys = new Map();
function dpopKey(jwk) {
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || 'd' in jwk) return null;
  let k = dpopKeys.get(jwk.x);
  if (!k) {
    const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
    k = {
      key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }),
      jkt: createHash('sha256').update(canonical).digest('base64url'),
    };
    if (dpopKeys.size >= 10_000) dpopKeys.delete(dpopKeys.keys().next().value);
    dpopKeys.set(jwk.x, k);
  }
  return k;
}

const { privateKey } = generateKeyPairSync('ed25519');
const atHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'floor-1' })).toString(
  'base64url',
);

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
  done(null, parseQuery(body)),
);
const error = (reply, code, status = 400) =>
  reply.code(status).header('cache-control', 'no-store').send({ error: code });

app.post('/oauth/token', async (request, reply) => {
  const form = request.body ?? {};
  for (const v of Object.values(form)) if (Array.isArray(v)) return error(reply, 'invalid_request');
  if (form.grant_type !== 'client_credentials') return error(reply, 'unsupported_grant_type');
  const now = Date.now();
  const nowSec = Math.floor(now / 1000);

  if (form.client_id !== client.id || form.client_assertion_type !== ASSERTION_TYPE)
    return error(reply, 'invalid_client', 401);
  const assertion = decode(form.client_assertion);
  const a = assertion?.payload;
  if (
    !assertion ||
    assertion.header.alg !== 'EdDSA' ||
    assertion.header.kid !== client.kid ||
    !verify(null, assertion.input, client.key, assertion.signature) ||
    a.iss !== client.id ||
    a.sub !== client.id ||
    (a.aud !== issuer && a.aud !== tokenEndpoint) ||
    typeof a.exp !== 'number' ||
    a.exp <= nowSec ||
    a.exp > nowSec + 600 ||
    typeof a.jti !== 'string'
  )
    return error(reply, 'invalid_client', 401);

  const proof = decode(request.headers.dpop);
  const p = proof?.payload;
  const key =
    proof && proof.header.typ === 'dpop+jwt' && proof.header.alg === 'EdDSA' && dpopKey(proof.header.jwk);
  if (
    !key ||
    !verify(null, proof.input, key.key, proof.signature) ||
    p.htm !== 'POST' ||
    p.htu !== tokenEndpoint ||
    typeof p.iat !== 'number' ||
    Math.abs(p.iat - nowSec) > 60 ||
    typeof p.jti !== 'string'
  )
    return error(reply, 'invalid_dpop_proof');
  if (p.nonce !== nonce) {
    reply.header('dpop-nonce', nonce);
    return error(reply, 'use_dpop_nonce');
  }

  const scope = form.scope ?? 'api:read';
  if (!client.scopes.has(scope)) return error(reply, 'invalid_scope');
  if (form.resource !== undefined && !client.resources.has(form.resource))
    return error(reply, 'invalid_target');

  const jti = `at-${randomBytes(16).toString('base64url')}`;
  const claims = {
    iss: issuer,
    sub: client.id,
    aud: form.resource ?? issuer,
    client_id: client.id,
    scope,
    jti,
    iat: nowSec,
    exp: nowSec + 3600,
    cnf: { jkt: key.jkt },
  };
  const input = `${atHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  const fresh = await store.write(() => {
    const spent =
      consume.run(`a:${client.id}:${a.jti}`, a.exp * 1000).changes === 0 ||
      consume.run(`d:${key.jkt}:${p.jti}`, now + 120_000).changes === 0;
    store.append(
      spent ? 'oauth.token_refused' : 'oauth.token_issued',
      { authMethodId: client.id },
      spent
        ? { reason: 'jti_replayed' }
        : { grantType: 'client_credentials', tokenId: jti, scope, jkt: key.jkt },
    );
    return !spent;
  });
  if (!fresh) return error(reply, 'invalid_client', 401);
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  return { access_token: token, token_type: 'DPoP', expires_in: 3600, scope };
});

await app.listen({ host: '127.0.0.1', port });
ready({
  target: 'oauth-floor',
  url: issuer,
  path: '/oauth/token',
  tokenEndpoint,
  audience: issuer,
  clientId: client.id,
  resource: RESOURCE,
  scope: 'api:read',
  nonce,
  storeUrl: `sqlite:${store.file}`,
  pid: process.pid,
});
onStop(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

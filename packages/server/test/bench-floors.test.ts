import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module of the bench harness
import { startTarget } from '../../../bench/lib/targets.mjs';

/**
 * The floor targets (bench/targets/*-floor.mjs, ADR 0058) stand for the least a server keeping
 * DESIGN's invariants must do; the budgets are judged against them. They must do what they claim —
 * refuse what a real server refuses and have every answered request's audit row on disk — or the
 * comparison flatters them.
 */
interface Target {
  info: Record<string, any>;
  stop(): Promise<unknown>;
}
const started: Target[] = [];
afterAll(async () => {
  for (const t of started) await t.stop();
});
async function start(name: string, args: string[] = []): Promise<Target> {
  const t = (await startTarget(name, { args })) as Target;
  started.push(t);
  return t;
}
const auditRows = (storeUrl: string, type: string) => {
  const db = new SQLite(storeUrl.slice('sqlite:'.length), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from audit_events where type = ?').get(type) as { n: number }).n;
  } finally {
    db.close();
  }
};
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jws = (header: unknown, payload: unknown, key: Parameters<typeof sign>[2]) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
};

describe('bench floor targets', () => {
  it('auth-floor: a JWT for a known token, its audit row durable; 400 for a bad body, 401 for an unknown token', async () => {
    const t = await start('auth-floor', ['--tokens', '5']);
    const url = `${t.info.url}${t.info.path}`;
    const body = readFileSync(t.info.bodiesFile, 'utf8').split('\n')[0]!;
    const post = (b: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
    const ok = await post(body);
    expect(ok.status).toBe(200);
    expect((await ok.json()).token.split('.')).toHaveLength(3);
    expect(auditRows(t.info.storeUrl, 'auth.succeeded')).toBe(1);
    expect((await post('{}')).status).toBe(400);
    expect(
      (await post(JSON.stringify({ accessType: 'universal_identity', uidToken: `u-${'x'.repeat(43)}` })))
        .status,
    ).toBe(401);
    expect(auditRows(t.info.storeUrl, 'auth.failed')).toBe(1);
  });

  it('oauth-floor: a DPoP-bound token; a replayed assertion, a wrong htu, a missing nonce, another client refused', async () => {
    const client = generateKeyPairSync('ed25519');
    const clientJwk = { ...client.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA' };
    const dpop = generateKeyPairSync('ed25519');
    const dpopJwk = dpop.publicKey.export({ format: 'jwk' });
    const t = await start('oauth-floor', ['--client-jwk', JSON.stringify(clientJwk)]);
    const { info } = t;
    const now = Math.floor(Date.now() / 1000);
    const assertion = (jti = randomUUID()) =>
      jws(
        { alg: 'EdDSA', kid: 'k1' },
        { iss: info.clientId, sub: info.clientId, aud: info.audience, jti, iat: now, exp: now + 120 },
        client.privateKey,
      );
    const proof = (over: Record<string, unknown> = {}) =>
      jws(
        { alg: 'EdDSA', typ: 'dpop+jwt', jwk: dpopJwk },
        { htm: 'POST', htu: info.tokenEndpoint, jti: randomUUID(), iat: now, nonce: info.nonce, ...over },
        dpop.privateKey,
      );
    const token = (a: string, p: string, clientId = info.clientId) =>
      fetch(`${info.url}${info.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: p },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: a,
          scope: info.scope,
          resource: info.resource,
        }).toString(),
      });
    const first = assertion();
    const ok = await token(first, proof());
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const issued = await ok.json();
    expect(issued.token_type).toBe('DPoP');
    expect(
      JSON.parse(Buffer.from(issued.access_token.split('.')[1], 'base64url').toString()).cnf.jkt,
    ).toEqual(expect.any(String));
    expect(auditRows(info.storeUrl, 'oauth.token_issued')).toBe(1);
    // A replayed assertion, then a replayed proof: refused, and audited as refusals.
    expect((await token(first, proof())).status).toBe(401);
    const reusedProof = proof();
    expect((await token(assertion(), reusedProof)).status).toBe(200);
    expect((await token(assertion(), reusedProof)).status).toBe(401);
    expect(auditRows(info.storeUrl, 'oauth.token_issued')).toBe(2);
    expect(auditRows(info.storeUrl, 'oauth.token_refused')).toBe(2);
    expect((await (await token(assertion(), proof({ htu: 'https://elsewhere/token' }))).json()).error).toBe(
      'invalid_dpop_proof',
    );
    const noNonce = await token(assertion(), proof({ nonce: undefined }));
    expect((await noNonce.json()).error).toBe('use_dpop_nonce');
    expect(noNonce.headers.get('dpop-nonce')).toBe(info.nonce);
    expect((await token(assertion(), proof(), 'c-other')).status).toBe(401);
  });

  it('secret-floor: the value for the reader; 401 without the session, 403 outside its rule', async () => {
    const t = await start('secret-floor');
    const { info } = t;
    const ok = await fetch(`${info.url}${info.path}`, { headers: info.headers });
    expect(ok.status).toBe(200);
    expect((await ok.json()).value).toMatch(/^v+$/);
    expect(auditRows(info.storeUrl, 'secret.read')).toBe(1);
    expect((await fetch(`${info.url}${info.path}`)).status).toBe(401);
    expect(
      (await fetch(`${info.url}/v1/secrets/value?name=%2Fother%2Fx`, { headers: info.headers })).status,
    ).toBe(403);
  });
});

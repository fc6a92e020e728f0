import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createDpopVerifier, verifyClientAssertion } from './jose-verify.js';
import { checkTimeClaims, decodeJws, JwsError, jwkThumbprint, verifyWithKeySet } from './jws-verify.js';

const pairs = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  EdDSA: generateKeyPairSync('ed25519'),
  Ed25519: generateKeyPairSync('ed25519'),
} as const;
type Alg = keyof typeof pairs;
const publicJwk = (alg: Alg, extra: Record<string, unknown> = {}) =>
  ({ ...pairs[alg].publicKey.export({ format: 'jwk' }), ...extra }) as JWK;

const NOW = 1_800_000_000;
const sign_ = (alg: Alg, claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(pairs[alg].privateKey);

function b64(value: unknown) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
/** A hand-made EdDSA JWS (to craft headers jose would not sign). */
function rawEd(header: Record<string, unknown>, payload: unknown, key: KeyObject = pairs.EdDSA.privateKey) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

const reason = (fn: () => void) => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof JwsError ? error.reason : 'other';
  }
};

describe('compact JWS verification with node:crypto', () => {
  it.each(Object.keys(pairs) as Alg[])('verifies %s signed by jose, and refuses it tampered', async (alg) => {
    const token = await sign_(alg, { sub: 'x' });
    expect(reason(() => verifyWithKeySet(decodeJws(token), [publicJwk(alg)]))).toBe('ok');
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(reason(() => verifyWithKeySet(decodeJws(flipped), [publicJwk(alg)]))).toBe('bad_signature');
    const otherPayload = `${h}.${b64({ sub: 'y' })}.${s}`;
    expect(reason(() => verifyWithKeySet(decodeJws(otherPayload), [publicJwk(alg)]))).toBe('bad_signature');
  });

  it('refuses an ES256 signature in DER form and a key of another type or curve', async () => {
    const token = await sign_('ES256', {});
    const [h, p] = token.split('.') as [string, string];
    const der = sign('sha256', Buffer.from(`${h}.${p}`), pairs.ES256.privateKey).toString('base64url');
    expect(reason(() => verifyWithKeySet(decodeJws(`${h}.${p}.${der}`), [publicJwk('ES256')]))).toBe(
      'bad_signature',
    );
    expect(reason(() => verifyWithKeySet(decodeJws(token), [publicJwk('EdDSA')]))).toBe('no_matching_key');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    expect(reason(() => verifyWithKeySet(decodeJws(token), [p384 as JWK]))).toBe('no_matching_key');
  });

  it('selects keys by kid, alg, use and key_ops as a JWK set does', async () => {
    const token = await sign_('EdDSA', {}, { kid: 'b' });
    const right = publicJwk('EdDSA', { kid: 'b' });
    const wrong = publicJwk('Ed25519', { kid: 'a' });
    expect(reason(() => verifyWithKeySet(decodeJws(token), [wrong, right]))).toBe('ok');
    expect(reason(() => verifyWithKeySet(decodeJws(token), [wrong]))).toBe('no_matching_key');
    expect(reason(() => verifyWithKeySet(decodeJws(token), [{ ...right, use: 'enc' }]))).toBe(
      'no_matching_key',
    );
    expect(reason(() => verifyWithKeySet(decodeJws(token), [{ ...right, alg: 'ES256' }]))).toBe(
      'no_matching_key',
    );
    expect(reason(() => verifyWithKeySet(decodeJws(token), [{ ...right, key_ops: ['sign'] }]))).toBe(
      'no_matching_key',
    );
    // Without a kid in the header every fitting key is tried.
    const noKid = await sign_('EdDSA', {});
    expect(reason(() => verifyWithKeySet(decodeJws(noKid), [publicJwk('Ed25519'), publicJwk('EdDSA')]))).toBe(
      'ok',
    );
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const input = `${b64({ alg: 'RS256' })}.${b64({})}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`;
    expect(
      reason(() => verifyWithKeySet(decodeJws(token), [small.publicKey.export({ format: 'jwk' }) as JWK])),
    ).toBe('malformed');
  });

  it('refuses malformed compact forms, crit, b64 and non-object payloads', () => {
    for (const bad of [
      'a.b',
      'a.b.c.d',
      '..',
      `${b64({ alg: 'EdDSA' })}.${b64({})}.a+b`,
      `${b64({ alg: 'EdDSA' })}.${b64([1])}.AAAA`,
      `${b64({ alg: 'EdDSA' })}.${Buffer.from('not json').toString('base64url')}.AAAA`,
      `${b64({ alg: 1 })}.${b64({})}.AAAA`,
      rawEd({ alg: 'EdDSA', crit: ['exp'], exp: 1 }, {}),
      rawEd({ alg: 'EdDSA', b64: true }, {}),
    ])
      expect(
        reason(() => decodeJws(bad)),
        bad,
      ).toBe('malformed');
  });

  it('checks exp, nbf and iat as jwtVerify does', () => {
    expect(reason(() => checkTimeClaims({ exp: NOW + 1 }, NOW, 0))).toBe('ok');
    expect(reason(() => checkTimeClaims({ exp: NOW }, NOW, 0))).toBe('expired');
    expect(reason(() => checkTimeClaims({ exp: NOW }, NOW, 5))).toBe('ok');
    expect(reason(() => checkTimeClaims({ nbf: NOW + 1 }, NOW, 0))).toBe('not_yet_valid');
    expect(reason(() => checkTimeClaims({ iat: '1' }, NOW, 0))).toBe('malformed');
    expect(reason(() => checkTimeClaims({ exp: null }, NOW, 0))).toBe('malformed');
  });

  it('computes RFC 7638 thumbprints as jose does', async () => {
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const)
      expect(jwkThumbprint(publicJwk(alg, { kid: 'k', use: 'sig' }))).toBe(
        await calculateJwkThumbprint(publicJwk(alg), 'sha256'),
      );
  });
});

describe('client assertions and DPoP proofs on the node:crypto verifier', () => {
  const expected = (alg: Alg) => ({
    clientId: 'c1',
    jwks: { keys: [publicJwk(alg)] },
    audiences: ['https://as.example'],
    nowMs: NOW * 1000,
    maxLifetimeSeconds: 300,
    clockToleranceSeconds: 5,
  });
  const good = { iss: 'c1', sub: 'c1', aud: 'https://as.example', exp: NOW + 60, jti: 'j1' };

  it('accepts a good assertion in each algorithm and names each failure', async () => {
    for (const alg of Object.keys(pairs) as Alg[])
      expect((await verifyClientAssertion(await sign_(alg, good), expected(alg))).ok).toBe(true);
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, iss: 'c2' }, 'assertion_wrong_issuer'],
      [{ ...good, sub: undefined }, 'assertion_wrong_issuer'],
      [{ ...good, aud: ['https://other'] }, 'assertion_wrong_audience'],
      [{ ...good, aud: undefined }, 'assertion_wrong_audience'],
      [{ ...good, exp: NOW - 10 }, 'assertion_expired'],
      [{ ...good, exp: undefined }, 'assertion_missing_claim'],
      [{ ...good, jti: undefined }, 'assertion_missing_claim'],
      [{ ...good, exp: NOW + 3600 }, 'assertion_lifetime_too_long'],
      [{ ...good, nbf: NOW + 60 }, 'assertion_malformed'],
    ];
    for (const [claims, why] of cases) {
      const result = await verifyClientAssertion(await sign_('EdDSA', claims), expected('EdDSA'));
      expect(result, why).toEqual({ ok: false, reason: why });
    }
    const hs = rawEd({ alg: 'HS256' }, good);
    expect(await verifyClientAssertion(hs, expected('EdDSA'))).toEqual({
      ok: false,
      reason: 'assertion_alg_not_allowed',
    });
    expect(await verifyClientAssertion(await sign_('EdDSA', good), expected('ES256'))).toEqual({
      ok: false,
      reason: 'assertion_unknown_key',
    });
    const forged = rawEd({ alg: 'EdDSA' }, good, pairs.Ed25519.privateKey);
    expect(await verifyClientAssertion(forged, expected('EdDSA'))).toEqual({
      ok: false,
      reason: 'assertion_bad_signature',
    });
  });

  it('checks a DPoP proof and returns the key thumbprint', async () => {
    const dpop = createDpopVerifier({ consume: async () => true });
    const jwk = publicJwk('EdDSA');
    const claims = { htm: 'POST', htu: 'https://as.example/token', iat: NOW, jti: 'p1' };
    const check = { method: 'POST', urls: ['https://as.example/token'], nowMs: NOW * 1000 };
    const proof = rawEd({ alg: 'EdDSA', typ: 'dpop+jwt', jwk }, claims);
    expect(await dpop.check(proof, check)).toEqual({
      ok: true,
      jkt: await calculateJwkThumbprint(jwk, 'sha256'),
      replay: expect.objectContaining({ key: expect.stringContaining(':p1') }),
    });
    const otherKey = rawEd({ alg: 'EdDSA', typ: 'dpop+jwt', jwk }, claims, pairs.Ed25519.privateKey);
    expect(await dpop.check(otherKey, check)).toEqual({ ok: false, reason: 'bad_signature' });
    const ecJwkEdAlg = rawEd({ alg: 'EdDSA', typ: 'dpop+jwt', jwk: publicJwk('ES256') }, claims);
    expect(await dpop.check(ecJwkEdAlg, check)).toEqual({ ok: false, reason: 'malformed' });
    const expired = rawEd({ alg: 'EdDSA', typ: 'dpop+jwt', jwk }, { ...claims, exp: NOW - 1 });
    expect(await dpop.check(expired, check)).toEqual({ ok: false, reason: 'malformed' });
    const badTyp = rawEd({ alg: 'HS256', typ: 'JWT', jwk }, claims);
    expect(await dpop.check(badTyp, check)).toEqual({ ok: false, reason: 'bad_typ' });
    const badAlg = rawEd({ alg: 'HS256', typ: 'dpop+jwt', jwk }, claims);
    expect(await dpop.check(badAlg, check)).toEqual({ ok: false, reason: 'alg_not_allowed' });
  });
});

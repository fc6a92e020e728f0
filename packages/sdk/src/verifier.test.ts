import { createRequire } from 'node:module';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TesseraTokenError } from './errors.js';
import { SessionTokenVerifier } from './verifier.js';
import type { Jwk, Jwks } from './wire.js';

const enc = new TextEncoder();
const AUD = 'tessera';
const ISS = 'https://tessera.test';
const NOW_MS = 1_760_000_000_000;
const NOW = NOW_MS / 1000;

function b64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === 'string' ? enc.encode(bytes) : bytes;
  let bin = '';
  for (const b of data) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  jwk: Jwk;
}

async function makeKey(kid: string): Promise<KeyPair> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const exported = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return {
    kid,
    privateKey: pair.privateKey,
    jwk: { kty: 'OKP', crv: 'Ed25519', x: exported.x as string, kid, alg: 'EdDSA', use: 'sig' },
  };
}

function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISS,
    sub: 'id-123',
    aud: AUD,
    am: 'p-abc',
    client_id: 'p-abc',
    uid: 'node1',
    uidp: '/node1',
    iat: NOW - 10,
    exp: NOW + 600,
    jti: 'jti-1',
    ...over,
  };
}

async function sign(
  key: KeyPair,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const h = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...header }));
  const p = b64url(JSON.stringify(payload));
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, enc.encode(`${h}.${p}`));
  return `${h}.${p}.${b64url(new Uint8Array(sig))}`;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TesseraTokenError);
  expect((err as TesseraTokenError).code).toBe(code);
}

let k1: KeyPair;
let k2: KeyPair;

beforeAll(async () => {
  k1 = await makeKey('k1');
  k2 = await makeKey('k2');
});

afterEach(() => {
  vi.restoreAllMocks();
});

function staticVerifier(keys: Jwk[] = [k1.jwk], over: Partial<{ issuer: string; audience: string[] }> = {}) {
  return new SessionTokenVerifier({
    jwks: { keys },
    audience: over.audience ?? AUD,
    issuer: over.issuer ?? ISS,
    clock: () => NOW_MS,
  });
}

/** A fetch that serves JWKS answers in turn and counts calls. */
function jwksFetch(answers: Jwks[]) {
  let calls = 0;
  const fetch = vi.fn(async (_url: string, _init: RequestInit): Promise<Response> => {
    const body = answers[Math.min(calls, answers.length - 1)];
    calls++;
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  return fetch;
}

/** Spies on whichever Ed25519 primitive the verifier uses here (node:crypto on Node, else WebCrypto). */
function signatureVerifications() {
  const nodeCrypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return typeof process.getBuiltinModule === 'function'
    ? vi.spyOn(nodeCrypto, 'verify')
    : vi.spyOn(crypto.subtle, 'verify');
}

describe('SessionTokenVerifier', () => {
  it('accepts a valid token and returns its claims, with or without the t- prefix', async () => {
    const verifier = staticVerifier();
    const token = await sign(k1, claims());
    const c = await verifier.verify(token);
    expect(c.sub).toBe('id-123');
    expect(c.am).toBe('p-abc');
    expect(c.uid).toBe('node1');
    expect(c.aud).toBe(AUD);
    const again = await staticVerifier().verify(`t-${token}`);
    expect(again.jti).toBe('jti-1');
  });

  it('accepts application/at+jwt and an audience array containing ours', async () => {
    const token = await sign(k1, claims({ aud: ['other', AUD] }), { typ: 'application/at+jwt' });
    await expect(staticVerifier().verify(token)).resolves.toMatchObject({ sub: 'id-123' });
  });

  it('refuses a bad signature', async () => {
    const token = await sign(k1, claims());
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    await expectCode(staticVerifier().verify(`${h}.${p}.${flipped}`), 'TESSERA_TOKEN_INVALID');
    // Signed by another key under k1's kid.
    const forged = await sign({ ...k2, kid: 'k1' }, claims());
    await expectCode(staticVerifier().verify(forged), 'TESSERA_TOKEN_INVALID');
    // Payload swapped after signing.
    const other = await sign(k1, claims({ sub: 'someone-else' }));
    await expectCode(staticVerifier().verify(`${h}.${other.split('.')[1]}.${s}`), 'TESSERA_TOKEN_INVALID');
  });

  it('refuses the wrong audience and the wrong issuer', async () => {
    await expectCode(
      staticVerifier().verify(await sign(k1, claims({ aud: 'nope' }))),
      'TESSERA_TOKEN_INVALID',
    );
    await expectCode(staticVerifier().verify(await sign(k1, claims({ aud: [] }))), 'TESSERA_TOKEN_INVALID');
    await expectCode(
      staticVerifier().verify(await sign(k1, claims({ iss: 'evil' }))),
      'TESSERA_TOKEN_INVALID',
    );
  });

  it('refuses an expired token, a not-yet-valid one and one issued in the future', async () => {
    await expectCode(
      staticVerifier().verify(await sign(k1, claims({ exp: NOW - 60 }))),
      'TESSERA_TOKEN_EXPIRED',
    );
    await expectCode(
      staticVerifier().verify(await sign(k1, claims({ nbf: NOW + 60 }))),
      'TESSERA_TOKEN_INVALID',
    );
    await expectCode(
      staticVerifier().verify(await sign(k1, claims({ iat: NOW + 60 }))),
      'TESSERA_TOKEN_INVALID',
    );
    // Within the leeway.
    await expect(staticVerifier().verify(await sign(k1, claims({ exp: NOW - 2 })))).resolves.toBeTruthy();
  });

  it('refuses missing required claims', async () => {
    for (const name of ['sub', 'am', 'client_id', 'jti', 'iss', 'exp', 'iat']) {
      const c = claims();
      delete c[name];
      await expectCode(staticVerifier().verify(await sign(k1, c)), 'TESSERA_TOKEN_INVALID');
    }
  });

  it('refuses alg none, HS256 and a wrong typ', async () => {
    const p = b64url(JSON.stringify(claims()));
    const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'k1' }))}.${p}.`;
    await expectCode(staticVerifier().verify(none), 'TESSERA_TOKEN_INVALID');
    const noneSig = `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'k1' }))}.${p}.${b64url('x')}`;
    await expectCode(staticVerifier().verify(noneSig), 'TESSERA_TOKEN_INVALID');

    // HS256 keyed with the public key bytes: the classic algorithm-confusion attack.
    const h = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }));
    const hmacKey = await crypto.subtle.importKey(
      'raw',
      enc.encode(k1.jwk.x as string),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const mac = await crypto.subtle.sign('HMAC', hmacKey, enc.encode(`${h}.${p}`));
    await expectCode(
      staticVerifier().verify(`${h}.${p}.${b64url(new Uint8Array(mac))}`),
      'TESSERA_TOKEN_INVALID',
    );

    await expectCode(
      staticVerifier().verify(await sign(k1, claims(), { typ: 'JWT' })),
      'TESSERA_TOKEN_INVALID',
    );
    await expectCode(
      staticVerifier().verify(await sign(k1, claims(), { crit: ['x'] })),
      'TESSERA_TOKEN_INVALID',
    );
    await expectCode(
      staticVerifier().verify(await sign(k1, claims(), { kid: undefined })),
      'TESSERA_TOKEN_INVALID',
    );
  });

  it('refuses malformed input', async () => {
    const v = staticVerifier();
    const good = await sign(k1, claims());
    const [h, p, s] = good.split('.') as [string, string, string];
    const bad = [
      '',
      't-',
      'abc',
      'a.b',
      `${h}.${p}.${s}.x`,
      `${h}.${p}`,
      `${h}..${s}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}.${s}+`,
      `${b64url('not json')}.${p}.${s}`,
      `${b64url('[1,2]')}.${p}.${s}`,
      `${h}.${b64url('"str"')}.${s}`,
      `${h}.${p}.${b64url('short')}`,
      `${h}.${p}.A`,
      `${'a'.repeat(20_000)}.${p}.${s}`,
    ];
    for (const token of bad) await expectCode(v.verify(token), 'TESSERA_TOKEN_INVALID');
    await expectCode(v.verify(42 as unknown as string), 'TESSERA_TOKEN_INVALID');
  });

  it('refetches the JWKS once on an unknown kid, then rate-limits', async () => {
    const fetch = jwksFetch([{ keys: [k1.jwk] }, { keys: [k1.jwk, k2.jwk] }]);
    let now = NOW_MS;
    const v = new SessionTokenVerifier({ jwksUrl: 'http://x/jwks', audience: AUD, clock: () => now, fetch });
    await v.verify(await sign(k1, claims()));
    expect(fetch).toHaveBeenCalledTimes(1);

    // Right after a fetch an unknown kid does not cause another one.
    const early = await sign(k2, claims({ jti: 'early' }));
    await expectCode(v.verify(early), 'TESSERA_TOKEN_INVALID');
    expect(fetch).toHaveBeenCalledTimes(1);

    // Later, two concurrent tokens with the new kid share one refetch.
    now += 31_000;
    const ta = await sign(k2, claims({ jti: 'a' }));
    const tb = await sign(k2, claims({ jti: 'b' }));
    const [a, b] = await Promise.all([v.verify(ta), v.verify(tb)]);
    expect(a.jti).toBe('a');
    expect(b.jti).toBe('b');
    expect(fetch).toHaveBeenCalledTimes(2);

    // Another unknown kid right away: no new fetch (rate limit), refused.
    const k3 = await makeKey('k3');
    await expectCode(v.verify(await sign(k3, claims())), 'TESSERA_TOKEN_INVALID');
    expect(fetch).toHaveBeenCalledTimes(2);

    // After the interval another fetch is allowed (still unknown: refused).
    now += 31_000;
    await expectCode(v.verify(await sign(k3, claims({ jti: 'c' }))), 'TESSERA_TOKEN_INVALID');
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('refreshes the JWKS after its TTL and keeps stale keys if the refresh fails', async () => {
    let calls = 0;
    const fetch = vi.fn(async (): Promise<Response> => {
      calls++;
      if (calls > 1) throw new Error('down');
      return new Response(JSON.stringify({ keys: [k1.jwk] }), { status: 200 });
    });
    let now = NOW_MS;
    const v = new SessionTokenVerifier({
      jwksUrl: 'http://x/jwks',
      audience: AUD,
      clock: () => now,
      fetch,
      jwksTtlMs: 1000,
    });
    await v.verify(await sign(k1, claims({ jti: '1' })));
    now += 2000;
    await expect(v.verify(await sign(k1, claims({ jti: '2' })))).resolves.toBeTruthy();
    expect(calls).toBe(2);
  });

  it('caches verified tokens until they expire', async () => {
    let now = NOW_MS;
    const v = new SessionTokenVerifier({ jwks: { keys: [k1.jwk] }, audience: AUD, clock: () => now });
    const token = await sign(k1, claims({ exp: NOW + 30 }));
    const spy = signatureVerifications();
    await v.verify(token);
    await v.verify(token);
    await v.verify(`t-${token}`);
    expect(spy).toHaveBeenCalledTimes(1);
    now += 60_000;
    await expectCode(v.verify(token), 'TESSERA_TOKEN_EXPIRED');
  });

  it('bounds the cache', async () => {
    const v = new SessionTokenVerifier({
      jwks: { keys: [k1.jwk] },
      audience: AUD,
      clock: () => NOW_MS,
      maxCachedTokens: 2,
    });
    const tokens = await Promise.all([1, 2, 3].map((i) => sign(k1, claims({ jti: String(i) }))));
    for (const t of tokens) await v.verify(t);
    const spy = signatureVerifications();
    await v.verify(tokens[2] as string);
    expect(spy).toHaveBeenCalledTimes(0);
    await v.verify(tokens[0] as string);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('returns frozen claims so callers cannot poison the cache', async () => {
    const c = await staticVerifier().verify(await sign(k1, claims()));
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('never puts the token in an error message', async () => {
    const token = await sign(k1, claims({ aud: 'nope' }));
    const err = (await staticVerifier()
      .verify(token)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain(token.split('.')[2]);
  });

  it('ignores JWKS entries that are not Ed25519 signing keys', async () => {
    const v = staticVerifier([
      { kty: 'RSA', kid: 'k1', n: 'x', e: 'AQAB' },
      { ...k1.jwk, use: 'enc' },
    ]);
    await expectCode(v.verify(await sign(k1, claims())), 'TESSERA_TOKEN_INVALID');
  });
});

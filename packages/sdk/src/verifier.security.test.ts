/**
 * Non-canonical tokens (RFC 7515 §2): each lenient spelling of each segment — `!!` inserted, `==`
 * appended, `-`/`_` swapped for `+`/`/`, unused trailing bits set — must be refused, even though
 * the bytes it decodes to are a valid signature.
 */
import { describe, expect, it } from 'vitest';
import { TesseraTokenError } from './errors.js';
import { isCanonicalBase64Url, SessionTokenVerifier } from './verifier.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const enc = new TextEncoder();
const NOW_MS = 1_760_000_000_000;

const b64url = (data: Uint8Array) =>
  btoa(String.fromCharCode(...data))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function segmentMutations(segment: string): Array<[string, string]> {
  const mid = Math.floor(segment.length / 2);
  const out: Array<[string, string]> = [
    ['"!!" inserted', `${segment.slice(0, mid)}!!${segment.slice(mid)}`],
    ['"==" appended', `${segment}==`],
    ['a line break inserted', `${segment.slice(0, mid)}\n${segment.slice(mid)}`],
  ];
  if (/[-_]/.test(segment)) out.push(['"+"/"/" for "-"/"_"', segment.replace(/-/g, '+').replace(/_/g, '/')]);
  const rest = segment.length % 4;
  if (rest !== 0) {
    const last = ALPHABET.indexOf(segment.at(-1)!);
    out.push([
      'unused trailing bits set',
      segment.slice(0, -1) + ALPHABET[(last & ~(rest === 2 ? 0x0f : 0x03)) | 1],
    ]);
  }
  return out;
}

async function signedToken(): Promise<{ jwt: string; jwk: Record<string, string> }> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const x = (await crypto.subtle.exportKey('jwk', pair.publicKey)).x as string;
  const jwk = { kty: 'OKP', crv: 'Ed25519', x, kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const h = b64url(enc.encode(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' })));
  const now = NOW_MS / 1000;
  for (let i = 0; ; i++) {
    const claims = {
      iss: 'https://t',
      aud: 'tessera',
      sub: 'id-1',
      am: 'p-1',
      client_id: 'p-1',
      iat: now,
      exp: now + 600,
      jti: `j${i}`,
    };
    const p = b64url(enc.encode(JSON.stringify(claims)));
    const sig = b64url(
      new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, enc.encode(`${h}.${p}`))),
    );
    // A signature holding both "-" and "_", so that the alphabet swap changes it.
    if ((sig.includes('-') && sig.includes('_')) || i > 200) return { jwt: `${h}.${p}.${sig}`, jwk };
  }
}

describe('the SDK verifier accepts only canonical base64url', () => {
  it('the helper refuses every mutation of canonical encodings of 1–40 bytes', () => {
    for (let n = 1; n <= 40; n++) {
      const canonical = b64url(Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      expect(isCanonicalBase64Url(canonical)).toBe(true);
      for (const [what, mutated] of segmentMutations(canonical))
        expect(isCanonicalBase64Url(mutated), `${what} of ${canonical}`).toBe(false);
    }
  });

  it('a token verifies, and no mutation of any of its segments does', async () => {
    const { jwt, jwk } = await signedToken();
    const verifier = new SessionTokenVerifier({
      jwks: { keys: [jwk as never] },
      audience: 'tessera',
      clock: () => NOW_MS,
    });
    expect((await verifier.verify(jwt)).sub).toBe('id-1');
    const parts = jwt.split('.');
    const accepted: string[] = [];
    const tried: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const [what, mutated] of segmentMutations(parts[i]!)) {
        const copy = [...parts];
        copy[i] = mutated;
        tried.push(`segment ${i}: ${what}`);
        const err = await verifier.verify(copy.join('.')).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!(err instanceof TesseraTokenError)) accepted.push(`segment ${i}: ${what}`);
      }
    }
    expect(tried).toContain('segment 2: unused trailing bits set');
    expect(tried).toContain('segment 2: "+"/"/" for "-"/"_"');
    expect(accepted).toEqual([]);
  });
});

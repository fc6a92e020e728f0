/**
 * Non-canonical session tokens (RFC 7515 §2: base64url without padding, nothing else). Node's
 * decoder skips foreign characters, accepts `=` and `+`/`/`, and ignores the unused low bits of the
 * last character, so a token used to verify in many spellings. Each mutation below, in each JWT
 * segment, must be refused on the native API and on the Akeyless `t-` path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCanonicalBase64Url } from '../src/crypto/base64url.js';
import { startTestServer, type TestServer } from './harness.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every non-canonical spelling of one segment that a lenient decoder reads as the same bytes. */
export function segmentMutations(segment: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const mid = Math.floor(segment.length / 2);
  out.push(['"!!" inserted', `${segment.slice(0, mid)}!!${segment.slice(mid)}`]);
  out.push(['"==" appended', `${segment}==`]);
  out.push(['"=" padding to a multiple of 4', segment + '='.repeat((4 - (segment.length % 4)) % 4 || 4)]);
  out.push(['a line break inserted', `${segment.slice(0, mid)}\n${segment.slice(mid)}`]);
  if (/[-_]/.test(segment))
    out.push(['"-"/"_" swapped for "+"/"/"', segment.replace(/-/g, '+').replace(/_/g, '/')]);
  const rest = segment.length % 4;
  if (rest !== 0) {
    const last = ALPHABET.indexOf(segment.at(-1)!);
    const unused = rest === 2 ? 0x0f : 0x03;
    out.push(['unused trailing bits set', segment.slice(0, -1) + ALPHABET[(last & ~unused) | 1]]);
  }
  return out;
}

/** The mutations of each segment of a compact JWS, labelled by segment. */
export function tokenMutations(jwt: string): Array<[string, string]> {
  const parts = jwt.split('.');
  const names = ['header', 'payload', 'signature'];
  return parts.flatMap((segment, i) =>
    segmentMutations(segment).map(([what, mutated]): [string, string] => {
      const copy = [...parts];
      copy[i] = mutated;
      return [`${names[i]}: ${what}`, copy.join('.')];
    }),
  );
}

describe('the canonical base64url check', () => {
  it('accepts what Buffer encodes and refuses every other spelling', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      const canonical = bytes.toString('base64url');
      expect(decodeCanonicalBase64Url(canonical)?.equals(bytes)).toBe(true);
      for (const [what, mutated] of segmentMutations(canonical))
        expect(decodeCanonicalBase64Url(mutated), `${what} of ${canonical}`).toBeNull();
    }
    expect(decodeCanonicalBase64Url('A')).toBeNull();
  });
});

describe('session tokens are accepted only in their canonical spelling', () => {
  let s: TestServer;
  let jwt: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    // A signature with both "-" and "_" so that the alphabet swap changes it.
    for (let i = 0; i < 40; i++) {
      jwt = await (async () => {
        const r = await s.call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey },
        });
        return r.body.token as string;
      })();
      const sig = jwt.split('.')[2]!;
      if (sig.includes('-') && sig.includes('_')) break;
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it('the canonical token verifies on both paths', async () => {
    expect((await s.call('GET', '/v1/auth-methods', { token: jwt })).status).toBe(200);
    const ak = await s.call('POST', '/akeyless/list-auth-methods', { body: { token: `t-${jwt}` } });
    expect(ak.status).toBe(200);
  });

  it('every mutation of every segment is refused on the native API (401)', async () => {
    const mutations = tokenMutations(jwt);
    expect(mutations.some(([w]) => w.startsWith('signature: unused trailing bits'))).toBe(true);
    expect(mutations.some(([w]) => w.startsWith('signature: "-"/"_"'))).toBe(true);
    const accepted: string[] = [];
    for (const [what, token] of mutations) {
      if (token.includes('\n')) continue; // not a valid header value; covered by the helper test
      const res = await s.call('GET', '/v1/auth-methods', { token });
      if (res.status !== 401) accepted.push(`${what} → ${res.status}`);
    }
    expect(accepted).toEqual([]);
  });

  it('every mutation of every segment is refused on the Akeyless t- path', async () => {
    const accepted: string[] = [];
    for (const [what, token] of tokenMutations(jwt)) {
      const res = await s.call('POST', '/akeyless/list-auth-methods', { body: { token: `t-${token}` } });
      if (res.status < 400 || res.status >= 500) accepted.push(`${what} → ${res.status}`);
      const v = await s.call('POST', '/akeyless/validate-token', { body: { token: `t-${token}` } });
      if (v.status === 200 && v.body?.is_valid !== false) accepted.push(`validate-token ${what}`);
    }
    expect(accepted).toEqual([]);
  });
});

// Issue 12 / ADR 0014: the two signature verifications of a private_key_jwt + DPoP token request,
// as jose's jwtVerify does them (WebCrypto) and as crypto/jws-verify.ts does (node:crypto one-shot),
// 50 in flight. Run pinned: taskset -c 0 node bench/oauth-verify.mjs (after npm run build).
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify } from 'jose';
import { createDpopVerifier, verifyClientAssertion } from '../packages/server/dist/crypto/jose-verify.js';

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jws = (h, p, k) => {
  const i = `${b64(h)}.${b64(p)}`;
  return `${i}.${sign(null, Buffer.from(i), k).toString('base64url')}`;
};
const c = generateKeyPairSync('ed25519'),
  d = generateKeyPairSync('ed25519');
const cj = { ...c.publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'EdDSA' },
  dj = d.publicKey.export({ format: 'jwk' });
const now = Math.floor(Date.now() / 1000),
  N = 4000;
const items = Array.from({ length: N }, () => [
  jws(
    { alg: 'EdDSA', kid: 'k' },
    { iss: 'c', sub: 'c', aud: 'https://as', exp: now + 60, jti: randomUUID() },
    c.privateKey,
  ),
  jws(
    { alg: 'EdDSA', typ: 'dpop+jwt', jwk: dj },
    { htm: 'POST', htu: 'https://as/token', iat: now, jti: randomUUID() },
    d.privateKey,
  ),
]);
const set = createLocalJWKSet({ keys: [cj] });
const dk = await importJWK({ ...dj, ext: true }, 'EdDSA');
const dpop = createDpopVerifier({ consume: async () => true });
async function run(name, fn) {
  for (let i = 0; i < 200; i++) await fn(items[i]);
  const cpu0 = process.cpuUsage(),
    t0 = performance.now();
  // 50 in flight, as the benchmark's connections
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < N) await fn(items[next++]);
    }),
  );
  const wall = performance.now() - t0,
    cpu = process.cpuUsage(cpu0);
  console.log(
    `${name}: ${((wall * 1000) / N).toFixed(1)} µs wall per request (two verifications), ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU (all threads)`,
  );
}
await run('jose jwtVerify (WebCrypto)', async ([a, p]) => {
  await jwtVerify(a, set, { issuer: 'c', audience: 'https://as' });
  await jwtVerify(p, dk, { typ: 'dpop+jwt' });
});
await run('node:crypto (crypto/jws-verify.ts)', async ([a, p]) => {
  const r1 = await verifyClientAssertion(a, {
    clientId: 'c',
    jwks: { keys: [cj] },
    audiences: ['https://as'],
    nowMs: Date.now(),
    maxLifetimeSeconds: 300,
    clockToleranceSeconds: 30,
  });
  const r2 = await dpop.check(p, { method: 'POST', urls: ['https://as/token'], nowMs: Date.now() });
  if (!r1.ok || !r2.ok) throw new Error(JSON.stringify([r1, r2]));
});

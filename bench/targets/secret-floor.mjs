// The floor of the secret read (DESIGN §5: session-token check, policy, decrypt, durable audit): the
// least a server keeping DESIGN's invariants must do per read of `GET /v1/secrets/value?name=…`.
//   - Fastify with a querystring schema; the bearer token's verified claims found by its SHA-256 in
//     an in-memory map (DESIGN §5 allows caching verified tokens by hash), expiry and an in-memory
//     revocation set checked;
//   - policy: one in-memory path rule (`/bench/*` read);
//   - one prepared point read of the encrypted value, AES-256-GCM decryption with a data key held
//     in memory (no per-read unwrap);
//   - one HMAC-chained audit row, group-committed and fsynced before the answer
//     (bench/lib/floor-ledger.mjs).
// No rate limits, no request context, no logging, no metrics, no sinks.
// Usage: node bench/targets/secret-floor.mjs --port 9108 [--value-bytes 64]
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { openFloorStore } from '../lib/floor-ledger.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9108);
const valueBytes = Number(args['value-bytes'] ?? 64);
const SECRET = '/bench/secret-1';

const dir = mkdtempSync(join(tmpdir(), 'secret-floor-'));
const store = openFloorStore(
  dir,
  'create table secrets (name text primary key, version integer not null, iv blob not null, tag blob not null, ciphertext blob not null) without rowid;',
);
const dataKey = randomBytes(32);
const value = 'v'.repeat(valueBytes);
{
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(SECRET));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  store.db
    .prepare('insert into secrets values (?, 1, ?, ?, ?)')
    .run(SECRET, iv, cipher.getAuthTag(), ciphertext);
}
const readSecret = store.db.prepare('select version, iv, tag, ciphertext from secrets where name = ?').raw();

// A session token as the server would issue it, and the verification cache keyed by its hash.
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const now = Math.floor(Date.now() / 1000);
const claims = { iss: 'floor', aud: 'tessera', sub: 'i-reader', jti: 's-1', iat: now, exp: now + 86_400 };
const input = `${Buffer.from('{"alg":"EdDSA","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
const verified = new Map();
const revoked = new Set();
function session(authorization) {
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return null;
  const raw = authorization.slice(7);
  const key = createHash('sha256').update(raw).digest('base64url');
  let c = verified.get(key);
  if (c === undefined) {
    const dot = raw.lastIndexOf('.');
    if (
      dot < 0 ||
      !verify(null, Buffer.from(raw.slice(0, dot)), publicKey, Buffer.from(raw.slice(dot + 1), 'base64url'))
    )
      return null;
    c = JSON.parse(Buffer.from(raw.split('.')[1], 'base64url').toString());
    verified.set(key, c);
  }
  if (c.exp * 1000 <= Date.now() || revoked.has(c.jti)) return null;
  return c;
}
const mayRead = (sub, name) => sub === 'i-reader' && name.startsWith('/bench/');

const app = Fastify({ logger: false });
app.get(
  '/v1/secrets/value',
  {
    schema: {
      querystring: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 512 } },
      },
      response: {
        200: {
          type: 'object',
          properties: { name: { type: 'string' }, value: { type: 'string' }, version: { type: 'integer' } },
        },
      },
    },
  },
  async (request, reply) => {
    const c = session(request.headers.authorization);
    if (!c) return reply.code(401).send({ error: 'unauthenticated' });
    const { name } = request.query;
    if (!mayRead(c.sub, name)) {
      await store.write(() =>
        store.append('secret.read', { identityId: c.sub }, { name, outcome: 'denied' }),
      );
      return reply.code(403).send({ error: 'forbidden' });
    }
    const row = readSecret.get(name);
    if (!row) return reply.code(404).send({ error: 'not_found' });
    const [version, iv, tag, ciphertext] = row;
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv);
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    await store.write(() =>
      store.append('secret.read', { identityId: c.sub, tokenId: c.jti }, { name, version }),
    );
    return { name, value: plain, version };
  },
);
await app.listen({ host: '127.0.0.1', port });
ready({
  target: 'secret-floor',
  url: `http://127.0.0.1:${port}`,
  path: `/v1/secrets/value?name=${encodeURIComponent(SECRET)}`,
  method: 'GET',
  headers: { authorization: `Bearer ${token}` },
  storeUrl: `sqlite:${store.file}`,
  pid: process.pid,
});
onStop(async () => {
  await app.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

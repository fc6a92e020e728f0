// The floor of `/v1/auth` under DESIGN's invariants: the least any server must do to exchange a
// bearer credential for a session JWT when "no answer before its audit event is durable" and
// "no token stored in plaintext" hold. Per request, and nothing else:
//   - Fastify parses and validates the JSON body (bad input must get a 400) and serialises the
//     answer with a response schema;
//   - SHA-256 of the presented token, one prepared point read by that hash (expiry and revocation
//     are columns of the row: no ancestor walk, no identity state, no method settings);
//   - one Ed25519 JWT signature, as in bench/targets/ed25519-endpoint.mjs;
//   - one audit row, chained by HMAC-SHA256 to the previous one, group-committed and fsynced before
//     the answer (bench/lib/floor-ledger.mjs).
// No rate limiting, no request context, no logging, no metrics, no policy, no sinks. A server that
// keeps the invariants cannot beat this; `bench/run.mjs --targets …,auth-floor` compares it with the
// minimal Ed25519 endpoint (DESIGN §5's "practical limit") in the same run.
// Usage: node bench/targets/auth-floor.mjs --port 9106 --tokens 1000 [--data-dir DIR]
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { onStop, parseArgs, ready } from '../lib/args.mjs';
import { openFloorStore } from '../lib/floor-ledger.mjs';

const args = parseArgs();
const port = Number(args.port ?? 9106);
const tokenCount = Number(args.tokens ?? 1000);
const ownsDir = !args['data-dir'];
const dir = args['data-dir'] ? String(args['data-dir']) : mkdtempSync(join(tmpdir(), 'auth-floor-'));

const store = openFloorStore(
  dir,
  `create table tokens (hash text primary key, id text not null, identity_id text not null,
     method_id text not null, expires_at integer not null, revoked_at integer) without rowid;`,
);
const { db, file } = store;
const sha256 = (s) => createHash('sha256').update(s).digest('base64url');
const tokens = [];
const insertToken = db.prepare('insert into tokens values (?, ?, ?, ?, ?, null)');
db.transaction(() => {
  for (let i = 0; i < tokenCount; i++) {
    const token = `u-${randomBytes(32).toString('base64url')}`;
    tokens.push(token);
    insertToken.run(sha256(token), `n-${i}`, `i-${i}`, 'm-bench', Date.now() + 86_400_000);
  }
})();
const bodiesFile = join(dir, 'bodies.jsonl');
writeFileSync(
  bodiesFile,
  `${tokens.map((uidToken) => JSON.stringify({ accessType: 'universal_identity', uidToken })).join('\n')}\n`,
);

const findToken = db
  .prepare('select id, identity_id, method_id, expires_at, revoked_at from tokens where hash = ?')
  .raw();
const { privateKey } = generateKeyPairSync('ed25519');
const jwtHeader = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 'floor-1' })).toString(
  'base64url',
);
const issuer = `http://127.0.0.1:${port}`;

const app = Fastify({ logger: false });
app.post(
  '/v1/auth',
  {
    schema: {
      body: {
        type: 'object',
        required: ['accessType', 'uidToken'],
        additionalProperties: false,
        properties: {
          accessType: { type: 'string', enum: ['universal_identity'] },
          uidToken: { type: 'string', minLength: 10, maxLength: 200, pattern: '^u-[A-Za-z0-9_-]+$' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            token: { type: 'string' },
            tokenType: { type: 'string' },
            expiresIn: { type: 'integer' },
            expiresAt: { type: 'string' },
            identityId: { type: 'string' },
            uidTokenId: { type: 'string' },
          },
        },
      },
    },
  },
  async (request, reply) => {
    const hash = sha256(request.body.uidToken);
    const row = findToken.get(hash);
    const now = Date.now();
    if (!row || row[4] !== null || row[3] <= now) {
      await store.write(() =>
        store.append('auth.failed', { credentialRef: hash.slice(0, 16) }, { reason: 'unknown_or_revoked' }),
      );
      return reply.code(401).send({ error: 'auth_failed' });
    }
    const [id, identityId, methodId] = row;
    const iat = Math.floor(now / 1000);
    const exp = iat + 3600;
    const jti = `s-${randomBytes(16).toString('base64url')}`;
    const claims = {
      iss: issuer,
      aud: 'tessera',
      sub: identityId,
      client_id: methodId,
      jti,
      iat,
      exp,
      uid: id,
    };
    const input = `${jwtHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const token = `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
    await store.write(() =>
      store.append(
        'auth.succeeded',
        { identityId, authMethodId: methodId, uidNodeId: id, credentialRef: hash.slice(0, 16), tokenId: jti },
        { accessType: 'universal_identity', expiresAt: new Date(exp * 1000).toISOString() },
      ),
    );
    return {
      token,
      tokenType: 'Bearer',
      expiresIn: exp - iat,
      expiresAt: new Date(exp * 1000).toISOString(),
      identityId,
      uidTokenId: id,
    };
  },
);
await app.listen({ host: '127.0.0.1', port });
ready({
  target: 'auth-floor',
  url: `http://127.0.0.1:${port}`,
  path: '/v1/auth',
  bodiesFile,
  storeUrl: `sqlite:${file}`,
  pid: process.pid,
});
onStop(async () => {
  await app.close();
  store.close();
  if (ownsDir) rmSync(dir, { recursive: true, force: true });
});
